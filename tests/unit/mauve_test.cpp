// MAUVE against the reference, mauve-text 0.4.0 (tests/fixtures/
// make_mauve_fixtures.py, rerun by the suite): on the same clustered feature
// arrays the score agrees within 0.02 and orders the cases alike; on
// unclustered ones, where the k-means starts (faiss against unmask's seeded
// Lloyd) move the score, it lies in mauve-text's own range over 8 seeds, ±0.02;
// the GPT-2 features equal
// transformers' hidden_states[-1] at the last token within 1e-4; bad input is
// one clear error.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "test_util.h"
#include "unmask/run/run_model.h"
#include "unmask/eval/mauve.h"
#include "unmask/util/error.h"
#include "unmask/util/safetensors.h"

namespace unmask {
namespace {

using namespace unmask::test;

TEST(Mauve, MatchesMauveTextOnTheSameFeatures) {
  const fs::path dir = mauve_fixtures();
  const auto arrays = load_safetensors(dir / "mauve.safetensors").tensors;
  const auto expected = nlohmann::json::parse(read_text(dir / "expected.json"));
  std::map<std::string, double> ours;
  for (const std::string c : {"same", "shifted", "far"}) {
    const MauveResult r = compute_mauve(arrays.at("p_" + c), arrays.at("q_" + c), MauveOptions{});
    const auto& want = expected[c];
    EXPECT_EQ(r.buckets, want["num_buckets"].get<std::int64_t>()) << c;
    EXPECT_NEAR(r.mauve, want["mauve"].get<double>(), 0.02) << c;
    EXPECT_NEAR(r.mauve_star, want["mauve_star"].get<double>(), 0.02) << c;
    // The frontier integral weighs small clusters more: where Q puts 2 % on
    // half the blobs (far), the clusterings' small differences show (0.09 measured).
    EXPECT_NEAR(r.frontier_integral, want["frontier_integral"].get<double>(), 0.1) << c;
    EXPECT_NEAR(std::accumulate(r.p_hist.begin(), r.p_hist.end(), 0.0), 1.0, 1e-12) << c;
    ours[c] = r.mauve;
    std::cout << "[ mauve ] " << c << ": unmask " << r.mauve << ", mauve-text " << want["mauve"].get<double>() << "\n";
  }
  EXPECT_GT(ours["same"], ours["shifted"]);
  EXPECT_GT(ours["shifted"], ours["far"]);
  const double gauss = compute_mauve(arrays.at("p_gauss"), arrays.at("q_gauss"), MauveOptions{}).mauve;
  std::cout << "[ mauve ] gauss: unmask " << gauss << ", mauve-text over 8 seeds [" << expected["gauss"]["min"] << ", "
            << expected["gauss"]["max"] << "]\n";
  EXPECT_GE(gauss, expected["gauss"]["min"].get<double>() - 0.02);
  EXPECT_LE(gauss, expected["gauss"]["max"].get<double>() + 0.02);
  // The same arrays and seed give the same score; identical sets are as close as it gets.
  const MauveResult again = compute_mauve(arrays.at("p_same"), arrays.at("q_same"), MauveOptions{});
  EXPECT_EQ(again.mauve, compute_mauve(arrays.at("p_same"), arrays.at("q_same"), MauveOptions{}).mauve);
  EXPECT_NEAR(compute_mauve(arrays.at("p_far"), arrays.at("p_far"), MauveOptions{}).mauve, 1.0, 1e-9);
}

TEST(Mauve, Gpt2FeaturesEqualTransformersHiddenStates) {
  const fs::path dir = mauve_fixtures();
  const auto meta = nlohmann::json::parse(read_text(dir / "features.json"));
  const TempDir tmp;
  const auto r = run_unmask({"import", "hf", "--from", meta["gpt2"].get<std::string>(), "--out", (tmp / "gpt2").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  RunModel scorer = load_run_model(tmp / "gpt2", "cpu", true);
  const auto texts = meta["texts"].get<std::vector<std::string>>();
  const at::Tensor ours = mauve_features(scorer, texts, 1024, 4);  // texts of different lengths, padded in batches
  const at::Tensor want = load_safetensors(dir / "mauve.safetensors").tensors.at("features");
  ASSERT_EQ(ours.sizes(), want.sizes());
  EXPECT_LT((ours - want).abs().max().item<double>(), 1e-4);
  EXPECT_GT(want.abs().max().item<double>(), 0.1);  // not trivially small
  EXPECT_TRUE(torch::allclose(mauve_features(scorer, texts, 1024, 1), mauve_features(scorer, texts, 1024, 6), 0, 1e-5))
      << "a text's features must not depend on its batch";
}

TEST(Mauve, BadInputIsAClearError) {
  const auto arrays = load_safetensors(mauve_fixtures() / "mauve.safetensors").tensors;
  const at::Tensor p = arrays.at("p_same"), q = arrays.at("q_same");
  EXPECT_NE(error_of([&] { compute_mauve(p.narrow(0, 0, 0), q, MauveOptions{}); }).find("MAUVE needs generated and "
                                                                                        "reference texts"),
            std::string::npos);
  EXPECT_NE(error_of([&] { compute_mauve(p.narrow(0, 0, 3), q.narrow(0, 0, 1), MauveOptions{}); })
                .find("needs at least 4 texts and 2 of each kind"),
            std::string::npos);
  // A scorer that is not a GPT-2.
  const TempDir tmp;
  const auto r = run_unmask({"import", "hf", "--from", (hf_fixtures() / "bert").string(), "--out", (tmp / "bert").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  RunModel bert = load_run_model(tmp / "bert", "cpu", true);
  EXPECT_NE(error_of([&] { mauve_features(bert, {"a text"}, 1024, 4); }).find("MAUVE features come from a GPT-2"),
            std::string::npos);
  RunModel gpt2 = load_run_model([&] {
    const auto g = run_unmask({"import", "hf", "--from", (hf_fixtures() / "gpt2").string(), "--out", (tmp / "g").string()});
    EXPECT_EQ(g.code, 0) << g.err;
    return tmp / "g";
  }(), "cpu", true);
  EXPECT_NE(error_of([&] { mauve_features(gpt2, {"fine", ""}, 1024, 4); }).find("text 2 encodes to no token"),
            std::string::npos);
  // The command: empty sample files and missing arguments.
  write_text(tmp / "empty.txt", "");
  write_text(tmp / "refs.txt", "one\ntwo\n");
  const auto e = run_unmask({"eval", "mauve", "--samples", (tmp / "empty.txt").string(), "--refs",
                             (tmp / "refs.txt").string(), "--scorer", (tmp / "g").string()});
  EXPECT_EQ(e.code, 1);
  EXPECT_NE(e.err.find("empty.txt"), std::string::npos) << e.err;
}

}  // namespace
}  // namespace unmask
