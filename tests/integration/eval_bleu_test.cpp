// `unmask eval bleu` end to end on the scored fixture (tests/fixtures/bleu):
// both protocols, self-BLEU, several reference streams, JSONL hypotheses, the
// text summary, and the one-line errors with non-zero exits.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace unmask {
namespace {

using namespace unmask::test;

const fs::path kFixtures = fs::path(UNMASK_SOURCE_DIR) / "tests" / "fixtures" / "bleu";

std::string fixture(const std::string& name) { return (kFixtures / (name + ".txt")).string(); }

const nlohmann::json& expected() {
  static const nlohmann::json j = nlohmann::json::parse(read_text(kFixtures / "expected.json"));
  return j;
}

nlohmann::json run_json(std::vector<std::string> args) {
  args.insert(args.begin(), {"eval", "bleu"});
  args.push_back("--json");
  const auto r = run_unmask(args);
  EXPECT_EQ(r.code, 0) << r.err;
  return r.code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json::object();
}

void expect_one_line_error(const RunResult& r, const std::string& what) {
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("unmask: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
}

TEST(EvalBleuCli, SacrebleuProtocolOneAndTwoStreams) {
  const auto one = run_json({"--hyps", fixture("hyps"), "--refs", fixture("refs")});
  const auto& e1 = expected()["corpus"][0];  // 13a, exp, one stream
  EXPECT_NEAR(one["bleu"].get<double>(), e1["score"].get<double>(), 1e-9);
  EXPECT_NEAR(one["bp"].get<double>(), e1["bp"].get<double>(), 1e-12);
  EXPECT_EQ(one["sys_len"], e1["sys_len"]);
  EXPECT_EQ(one["ref_len"], e1["ref_len"]);
  EXPECT_EQ(one["precisions"].size(), 4u);
  EXPECT_EQ(one["protocol"], "sacrebleu");
  EXPECT_EQ(one["tokenize"], "13a");
  EXPECT_EQ(one["smooth"], "exp");

  const auto two = run_json({"--hyps", fixture("hyps"), "--refs", fixture("refs"), fixture("refs2"), "--tokenize",
                             "none", "--smooth", "floor", "--smooth-value", "0.5"});
  bool found = false;
  for (const auto& e : expected()["corpus"])
    if (e["refs"].size() == 2 && e["tokenize"] == "none" && e["smooth"] == "floor" && e["smooth_value"] == 0.5 &&
        e["effective_order"] == false) {
      EXPECT_NEAR(two["bleu"].get<double>(), e["score"].get<double>(), 1e-9);
      found = true;
    }
  EXPECT_TRUE(found);
  EXPECT_EQ(two["ref_streams"], 2);
  EXPECT_EQ(two["smooth_value"], 0.5);
}

TEST(EvalBleuCli, DiffusionBertProtocolAndSelfBleuMatchNltk) {
  const auto pool = run_json({"--hyps", fixture("hyps"), "--refs", fixture("pool"), "--protocol", "diffusionbert"});
  const double mean = expected()["diffusionbert"]["space"]["mean"];
  EXPECT_NEAR(pool["bleu_nltk"].get<double>(), mean, 1e-12);
  EXPECT_NEAR(pool["bleu"].get<double>(), 100 * mean, 1e-10);
  EXPECT_EQ(pool["tokenize"], "space");
  EXPECT_EQ(pool["references"], 300);

  const auto per = run_json({"--hyps", fixture("hyps"), "--refs", fixture("pool"), "--protocol", "diffusionbert",
                             "--per-hypothesis", "--threads", "1"});
  const auto& scores = expected()["diffusionbert"]["space"]["sentence_scores"];
  ASSERT_EQ(per["per_hypothesis"].size(), scores.size());
  for (std::size_t i = 0; i < scores.size(); ++i)
    EXPECT_NEAR(per["per_hypothesis"][i].get<double>(), scores[i].get<double>(), 1e-12 * scores[i].get<double>()) << i;

  const auto self = run_json({"--hyps", fixture("hyps"), "--self"});  // default: the diffusionbert protocol
  const double self_mean = expected()["diffusionbert_self"]["space"]["mean"];
  EXPECT_NEAR(self["self_bleu_nltk"].get<double>(), self_mean, 1e-12);
  EXPECT_NEAR(self["self_bleu"].get<double>(), 100 * self_mean, 1e-10);
  EXPECT_EQ(self["protocol"], "diffusionbert");
  EXPECT_FALSE(self.contains("bleu"));

  const auto sacre = run_json({"--hyps", fixture("hyps"), "--self", "--protocol", "sacrebleu", "--threads", "1"});
  EXPECT_NEAR(sacre["self_bleu"].get<double>(), expected()["sacrebleu_self"]["score"].get<double>(), 1e-9);
}

TEST(EvalBleuCli, JsonlSamplesAndTextSummary) {
  TempDir dir;
  std::string jsonl;
  std::string hyps = read_text(fixture("hyps"));
  for (std::size_t start = 0, end; start < hyps.size(); start = end + 1) {
    end = hyps.find('\n', start);
    jsonl += nlohmann::json({{"text", hyps.substr(start, end - start)}, {"ids", {1, 2}}, {"seed", 0}}).dump() + "\n";
  }
  write_text(dir / "samples.jsonl", jsonl);
  write_text(dir / "samples.out", jsonl);  // detected by content, whatever the name
  const auto plain = run_json({"--hyps", fixture("hyps"), "--refs", fixture("refs")});
  EXPECT_EQ(run_json({"--hyps", (dir / "samples.jsonl").string(), "--refs", fixture("refs")})["bleu"], plain["bleu"]);
  EXPECT_EQ(run_json({"--hyps", (dir / "samples.out").string(), "--refs", fixture("refs")})["bleu"], plain["bleu"]);

  const auto r = run_unmask({"eval", "bleu", "--hyps", fixture("hyps"), "--refs", fixture("refs")});
  ASSERT_EQ(r.code, 0) << r.err;
  char head[96];
  std::snprintf(head, sizeof head, "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp = %.2f ",
                expected()["corpus"][0]["score"].get<double>());
  EXPECT_EQ(r.out.rfind(head, 0), 0u) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1);
}

TEST(EvalBleuCli, BadInputGivesOneLine) {
  TempDir dir;
  write_text(dir / "empty.txt", "");
  write_text(dir / "one.txt", "just one line\n");
  write_text(dir / "bad.jsonl", "{\"text\": \"ok\"}\nnot json\n");
  write_text(dir / "latin1.txt", "caf\xe9\n");
  const std::string hyps = fixture("hyps"), refs = fixture("refs");
  expect_one_line_error(run_unmask({"eval", "bleu", "--hyps", (dir / "empty.txt").string(), "--refs", refs}),
                        "is empty");
  expect_one_line_error(run_unmask({"eval", "bleu", "--hyps", (dir / "nope.txt").string(), "--refs", refs}),
                        "not found");
  expect_one_line_error(run_unmask({"eval", "bleu", "--hyps", hyps, "--refs", refs, (dir / "one.txt").string()}),
                        "has 1 lines but");
  expect_one_line_error(run_unmask({"eval", "bleu", "--hyps", hyps, "--refs", refs, "--smooth", "laplace"}),
                        "valid: exp, floor, add-k, none");
  expect_one_line_error(run_unmask({"eval", "bleu", "--hyps", hyps, "--refs", refs, "--tokenize", "intl"}),
                        "valid: 13a, none, space");
  expect_one_line_error(run_unmask({"eval", "bleu", "--hyps", hyps, "--refs", refs, "--protocol", "nltk"}),
                        "valid: sacrebleu, diffusionbert");
  expect_one_line_error(run_unmask({"eval", "bleu", "--hyps", hyps}), "--refs is required");
  expect_one_line_error(run_unmask({"eval", "bleu", "--hyps", (dir / "one.txt").string(), "--self"}),
                        "at least 2 hypotheses");
  expect_one_line_error(run_unmask({"eval", "bleu", "--hyps", hyps, "--self", "--refs", refs}), "drop --refs");
  expect_one_line_error(
      run_unmask({"eval", "bleu", "--hyps", hyps, "--refs", refs, "--protocol", "diffusionbert", "--smooth", "exp"}),
      "apply to --protocol sacrebleu only");
  expect_one_line_error(run_unmask({"eval", "bleu", "--hyps", hyps, "--refs", refs, "--per-hypothesis"}),
                        "--per-hypothesis applies to --protocol diffusionbert");
  expect_one_line_error(run_unmask({"eval", "bleu", "--hyps", hyps, "--refs", refs, "--smooth-value", "0.2"}),
                        "applies to --smooth floor or add-k");
  expect_one_line_error(run_unmask({"eval", "bleu", "--hyps", (dir / "bad.jsonl").string(), "--refs", refs}),
                        "line 2 is not a JSON object");
  expect_one_line_error(run_unmask({"eval", "bleu", "--hyps", (dir / "latin1.txt").string(), "--self"}),
                        "not valid UTF-8");
  const auto usage = run_unmask({"eval", "bleu", "--hyps", hyps, "--refs", refs, "--smooth-value", "-1"});
  EXPECT_EQ(usage.code, 2);
  EXPECT_EQ(std::count(usage.err.begin(), usage.err.end(), '\n'), 1) << usage.err;
}

}  // namespace
}  // namespace unmask
