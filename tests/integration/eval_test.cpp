// `unmask eval ppl|gen-ppl|all` end to end: the ELBO of a zero-initialised
// dit is (V−1)^{1−ε} (docs/BACKGROUND.md, identity 3); the Monte-Carlo estimate
// agrees with the discrete-T sum for large T; gen-ppl scores samples with an
// ar checkpoint; `eval all` writes its report; bad inputs are clear errors.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace unmask {
namespace {

using namespace unmask::test;
using Json = nlohmann::json;

// One tiny run per setup, trained once per test binary. `lr` 1e-30 keeps a
// dit at its initialisation (MDLM zero-initialises the output layer).
const fs::path& run(const std::string& name) {
  static TempDir dir;
  static std::map<std::string, fs::path> runs;
  auto it = runs.find(name);
  if (it != runs.end()) return it->second;
  const bool zero = name == "zero" || name == "zero-bd3lm";
  const std::string objective = name == "zero" || name == "cosine" ? "mdlm" : name == "zero-bd3lm" ? "bd3lm" : name;
  const std::string schedule = name == "cosine"                                 ? R"(, "schedule": "cosine")"
                               : objective == "bd3lm"                           ? R"(, "block_size": 4)"
                                                                                : "";
  const fs::path config = dir / (name + ".json");
  write_text(config, R"({"seed": 3, "model": {"backbone": "dit", "hidden": 32, "layers": 1, "heads": 2, "cond_dim": 16,
    "dropout": 0.0, "max_length": 32}, "diffusion": {"objective": ")" + objective + "\"" + schedule + R"(},
    "data": {"path": ")" + fortune_data().string() + R"(", "mode": "pad", "length": 24},
    "train": {"batch_size": 16, "max_steps": )" + (zero ? "1" : "60") + R"(, "lr": )" + (zero ? "1e-30" : "0.003") +
                         R"(, "warmup_steps": 0, "ema": 0.0, "log_every": 100, "eval_every": 1000, "val_batches": 0,
              "checkpoint_every": 1000, "sample_every": 0, "device": "cpu"},
    "eval": {"split": "val", "batch_size": 16, "max_rows": 48},
    "sample": {"num": 4, "length": 24, "steps": 12}})");
  const fs::path out = dir / name;
  const auto r = run_unmask({"train", "--config", config.string(), "--out", out.string()});
  if (r.code != 0) throw std::runtime_error("training the test model failed: " + r.err);
  return runs[name] = out;
}

Json eval_json(const std::vector<std::string>& args) {
  std::vector<std::string> full = {"--log-level", "warn", "eval"};
  full.insert(full.end(), args.begin(), args.end());
  full.push_back("--json");
  const auto r = run_unmask(full);
  if (r.code != 0) throw std::runtime_error("unmask eval failed: " + r.err);
  return Json::parse(r.out);
}

TEST(EvalPpl, ZeroInitialisedDitGivesTheUniformBound) {
  const Json j = eval_json({"ppl", "--checkpoint", run("zero").string(), "--draws", "16", "--max-rows", "64"});
  const double expected = (1 - 1e-3) * std::log(2000.0 - 1);  // (1 − ε) ln(V − 1) per token
  ASSERT_TRUE(j["std_error"].is_number());
  const double se = j["std_error"].get<double>();
  EXPECT_GT(se, 0);
  EXPECT_NEAR(j["nelbo_per_token"].get<double>(), expected, 4 * se + 1e-3) << j.dump();
  EXPECT_NEAR(std::log(j["ppl"].get<double>()), j["nelbo_per_token"].get<double>(), 1e-9);
  EXPECT_EQ(j["method"], "monte_carlo");
  EXPECT_EQ(j["draws"], 16);
  EXPECT_EQ(j["rows"], 64);
  EXPECT_GT(j["tokens"].get<std::int64_t>(), 64 * 3);
  // bits per byte and per-word perplexity come from the same total NELBO.
  const double total = j["nelbo_per_token"].get<double>() * j["tokens"].get<double>();
  EXPECT_NEAR(j["bpb"].get<double>(), total / (std::log(2.0) * j["bytes"].get<double>()), 1e-9);
  EXPECT_NEAR(std::log(j["per_word_ppl"].get<double>()), total / j["words"].get<double>(), 1e-9);
  EXPECT_NEAR(j["nelbo_per_row"].get<double>(), total / j["rows"].get<double>(), 1e-9);
}

// BD3-LM's bound of a model that knows nothing is MDLM's: each block's
// Rao-Blackwellised term has the same expectation, (1 − ε) ln(V − 1) a token;
// a trained one is a real bound with a standard error, and samples.
TEST(EvalPpl, Bd3lmIsABoundWithAStandardError) {
  const Json zero = eval_json({"ppl", "--checkpoint", run("zero-bd3lm").string(), "--draws", "16", "--max-rows", "64"});
  const double expected = (1 - 1e-3) * std::log(2000.0 - 1);
  const double se0 = zero["std_error"].get<double>();
  EXPECT_GT(se0, 0);
  EXPECT_NEAR(zero["nelbo_per_token"].get<double>(), expected, 4 * se0 + 1e-3) << zero.dump();
  const Json trained = eval_json({"ppl", "--checkpoint", run("bd3lm").string(), "--draws", "4"});
  EXPECT_EQ(trained["method"], "monte_carlo");
  EXPECT_GT(trained["std_error"].get<double>(), 0);
  EXPECT_LT(trained["nelbo_per_token"].get<double>(), expected - 0.5) << trained.dump();
  auto r = run_unmask({"sample", "--checkpoint", run("bd3lm").string(), "--num", "2", "--length", "48", "--steps", "4"});
  EXPECT_EQ(r.code, 0) << r.err;  // twice the trained length of 24: the window slides
  r = run_unmask({"sample", "--checkpoint", run("bd3lm").string(), "--num", "1", "--length", "30"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("must be multiples of diffusion.block_size (4)"), std::string::npos) << r.err;
}

// BD3-LM starts from an MDLM checkpoint (init.from, as bd3lms does): with
// one block per row and a learning rate too small to move a weight, its bound
// is the MDLM model's, draw for draw.
TEST(EvalPpl, Bd3lmInitialisedFromMdlmKeepsItsBound) {
  const TempDir dir;
  write_text(dir / "c.json", R"({"seed": 3, "model": {"backbone": "dit", "hidden": 32, "layers": 1, "heads": 2,
    "cond_dim": 16, "dropout": 0.0, "max_length": 32}, "init": {"from": ")" + run("mdlm").string() + R"("},
    "diffusion": {"objective": "bd3lm", "block_size": 24},
    "data": {"path": ")" + fortune_data().string() + R"(", "mode": "pad", "length": 24},
    "train": {"batch_size": 16, "max_steps": 1, "lr": 1e-30, "warmup_steps": 0, "ema": 0.0, "log_every": 100,
              "eval_every": 1000, "val_batches": 0, "checkpoint_every": 1000, "sample_every": 0, "device": "cpu"},
    "eval": {"split": "val", "batch_size": 16, "max_rows": 48}})");
  const auto r = run_unmask({"train", "--config", (dir / "c.json").string(), "--out", (dir / "bd3lm").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("init.from: weights of unmask checkpoint"), std::string::npos) << r.err;
  const Json mdlm = eval_json({"ppl", "--checkpoint", run("mdlm").string(), "--draws", "2", "--seed", "5"});
  const Json bd3lm = eval_json({"ppl", "--checkpoint", (dir / "bd3lm").string(), "--draws", "2", "--seed", "5"});
  EXPECT_NEAR(bd3lm["nelbo_per_token"].get<double>(), mdlm["nelbo_per_token"].get<double>(), 1e-5) << bd3lm.dump();
}

// MDLM §3.3 / Table 8: the discrete-time ELBO tends to the continuous one as T grows.
TEST(EvalPpl, MonteCarloAgreesWithTheDiscreteSumForLargeT) {
  const std::string ckpt = run("mdlm").string();
  const Json mc = eval_json({"ppl", "--checkpoint", ckpt, "--draws", "24"});
  const Json fine = eval_json({"ppl", "--checkpoint", ckpt, "--discrete-T", "1000", "--stride", "5"});
  const Json coarse = eval_json({"ppl", "--checkpoint", ckpt, "--discrete-T", "4"});
  EXPECT_EQ(fine["method"], "discrete_sum");
  EXPECT_EQ(fine["steps_evaluated"], 200);
  EXPECT_EQ(mc["tokens"], fine["tokens"]);
  const double se = mc["std_error"].get<double>();
  EXPECT_NEAR(fine["nelbo_per_token"].get<double>(), mc["nelbo_per_token"].get<double>(), 4 * se + 0.02)
      << mc.dump() << "\n" << fine.dump();
  EXPECT_EQ(coarse["steps_evaluated"], 4);
  EXPECT_EQ(coarse["T"], 4);
  // The trained model beats the uniform bound.
  EXPECT_LT(mc["nelbo_per_token"].get<double>(), std::log(1999.0));
}

// `--stride s` (chain) is the NELBO of the coarser chain: on T = 64 with s = 8
// it is the T = 8 sum itself, draw for draw. `weighted` (s × the one-step KL)
// is the same term by term for a schedule linear in t (log-linear here, d3pm)
// and differs for a curved one (cosine, spindle); both agree at s = 1.
TEST(EvalPpl, StrideChainIsTheCoarserChainsBound) {
  std::string ckpt = run("mdlm").string();
  auto ppl = [&](const std::string& T, const std::string& stride, const std::string& mode) {
    return eval_json({"ppl", "--checkpoint", ckpt, "--discrete-T", T, "--stride", stride, "--stride-mode", mode});
  };
  EXPECT_NEAR(ppl("64", "8", "chain")["nelbo_per_token"].get<double>(),
              ppl("64", "8", "weighted")["nelbo_per_token"].get<double>(), 1e-9);
  ckpt = run("cosine").string();
  const Json chain = ppl("64", "8", "chain"), weighted = ppl("64", "8", "weighted"), coarse = ppl("8", "1", "chain");
  EXPECT_EQ(chain["stride_mode"], "chain");
  EXPECT_EQ(chain["steps_evaluated"], 8);
  EXPECT_DOUBLE_EQ(chain["nelbo_per_token"].get<double>(), coarse["nelbo_per_token"].get<double>());
  EXPECT_GT(std::abs(chain["nelbo_per_token"].get<double>() - weighted["nelbo_per_token"].get<double>()), 1e-3)
      << chain.dump() << "\n" << weighted.dump();
  EXPECT_DOUBLE_EQ(ppl("16", "1", "chain")["nelbo_per_token"].get<double>(),
                   ppl("16", "1", "weighted")["nelbo_per_token"].get<double>());
  const auto r = run_unmask({"eval", "ppl", "--checkpoint", ckpt, "--discrete-T", "8", "--stride-mode", "sum"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--stride-mode"), std::string::npos) << r.err;
}

TEST(EvalPpl, ArIsExactAndDiscreteModelsSumOverSteps) {
  const Json ar = eval_json({"ppl", "--checkpoint", run("ar").string()});
  EXPECT_EQ(ar["method"], "exact");
  EXPECT_FALSE(ar["bound"].get<bool>());
  EXPECT_TRUE(ar["std_error"].is_null());
  const Json again = eval_json({"ppl", "--checkpoint", run("ar").string(), "--seed", "99"});
  EXPECT_EQ(ar["nelbo_per_token"], again["nelbo_per_token"]);  // no randomness in an exact likelihood
}

TEST(EvalPpl, BadInputsAreClearErrors) {
  auto r = run_unmask({"eval", "ppl", "--checkpoint", run("mlm").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("is not a likelihood bound"), std::string::npos) << r.err;
  r = run_unmask({"eval", "ppl", "--checkpoint", run("mdlm").string(), "--split", "nope"});
  EXPECT_EQ(r.code, 1);
  r = run_unmask({"eval", "ppl", "--checkpoint", run("ar").string(), "--discrete-T", "10"});
  EXPECT_NE(r.err.find("--discrete-T applies to continuous-time mdlm"), std::string::npos) << r.err;
  r = run_unmask({"eval", "ppl", "--checkpoint", run("mdlm").string(), "--draws", "0"});
  EXPECT_NE(r.err.find("--draws must be at least 1"), std::string::npos) << r.err;
}

TEST(EvalGenPpl, ScoresSamplesWithAnArCheckpoint) {
  TempDir dir;
  const fs::path samples = dir / "s.jsonl";
  auto r = run_unmask({"sample", "--checkpoint", run("mdlm").string(), "--num", "5", "--out", samples.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  const Json j = eval_json({"gen-ppl", "--samples", samples.string(), "--scorer", run("ar").string()});
  EXPECT_EQ(j["samples"], 5);
  EXPECT_GT(j["gen_ppl"].get<double>(), 1.0);
  EXPECT_NEAR(std::log(j["gen_ppl"].get<double>()), j["nll_per_token"].get<double>(), 1e-9);
  EXPECT_GT(j["entropy"].get<double>(), 0.0);
  ASSERT_EQ(j["per_sample"].size(), 5u);
  for (const auto& s : j["per_sample"]) EXPECT_LE(s["entropy"].get<double>(), std::log(s["tokens"].get<double>()) + 1e-9);
  // The same texts, re-tokenised, as a plain file.
  std::string text;
  std::istringstream in(read_text(samples));
  for (std::string line; std::getline(in, line);) {
    std::string t = Json::parse(line)["text"].get<std::string>();
    for (char& c : t)
      if (c == '\n') c = ' ';  // one sample per line
    text += t + "\n";
  }
  write_text(dir / "s.txt", text);
  const Json plain = eval_json({"gen-ppl", "--samples", (dir / "s.txt").string(), "--scorer", run("ar").string()});
  EXPECT_EQ(plain["samples"], 5);
  EXPECT_GT(plain["gen_ppl"].get<double>(), 1.0);
}

TEST(EvalGenPpl, BadInputsAreClearErrors) {
  TempDir dir;
  write_text(dir / "empty.jsonl", "");
  auto r = run_unmask({"eval", "gen-ppl", "--samples", (dir / "empty.jsonl").string(), "--scorer", run("ar").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("has no samples"), std::string::npos) << r.err;
  r = run_unmask({"eval", "gen-ppl", "--samples", (dir / "missing.jsonl").string(), "--scorer", run("ar").string()});
  EXPECT_NE(r.err.find("cannot read the samples file"), std::string::npos) << r.err;
  write_text(dir / "bad.jsonl", "not json\n");
  r = run_unmask({"eval", "gen-ppl", "--samples", (dir / "bad.jsonl").string(), "--scorer", run("ar").string()});
  EXPECT_NE(r.err.find(":1: not a JSON object"), std::string::npos) << r.err;
  write_text(dir / "other.jsonl", R"({"text": "hello", "ids": [2, 9, 3], "tokenizer": "0123456789abcdef"})" "\n");
  r = run_unmask({"eval", "gen-ppl", "--samples", (dir / "other.jsonl").string(), "--scorer", run("ar").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("pass --retokenize"), std::string::npos) << r.err;
  r = run_unmask({"eval", "gen-ppl", "--samples", (dir / "other.jsonl").string(), "--scorer", run("ar").string(),
                  "--retokenize"});
  EXPECT_EQ(r.code, 0) << r.err;
  r = run_unmask({"eval", "gen-ppl", "--samples", (dir / "other.jsonl").string(), "--scorer", run("mdlm").string()});
  EXPECT_NE(r.err.find("needs an autoregressive (ar) checkpoint"), std::string::npos) << r.err;
}

TEST(EvalAll, WritesTheJsonReportAndTheMarkdownTable) {
  TempDir dir;
  const auto r = run_unmask({"--log-level", "warn", "eval", "all", "--checkpoint", run("mdlm").string(), "--scorer",
                             run("ar").string(), "--out", (dir / "report").string(), "--draws", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  const Json j = Json::parse(read_text(dir / "report" / "eval.json"));
  for (const char* key : {"sampling", "ppl", "bleu", "self_bleu", "diversity", "gen_ppl"}) EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_GT(j["ppl"]["ppl"].get<double>(), 1.0);
  EXPECT_GE(j["bleu"]["bleu"].get<double>(), 0.0);
  EXPECT_LE(j["bleu"]["bleu"].get<double>(), 100.0);
  EXPECT_GT(j["gen_ppl"]["gen_ppl"].get<double>(), 1.0);
  const std::string md = read_text(dir / "report" / "eval.md");
  EXPECT_EQ(r.out, md);
  for (const char* row : {"ELBO perplexity (upper bound)", "BLEU-4", "self-BLEU-4", "gen-perplexity", "unigram entropy"})
    EXPECT_NE(md.find(row), std::string::npos) << row;
  EXPECT_TRUE(fs::exists(dir / "report" / "eval-samples.jsonl"));
  // MAUVE needs a GPT-2 scorer: with this dit one the row says why it is empty.
  ASSERT_TRUE(j.contains("mauve"));
  EXPECT_NE(j["mauve"]["skipped"].get<std::string>().find("MAUVE features come from a GPT-2"), std::string::npos);
  EXPECT_NE(md.find("| MAUVE | — |"), std::string::npos) << md;
}

// With an imported GPT-2 as the scorer, eval all reports MAUVE of the samples
// against the references, the same as eval mauve on the written files.
TEST(EvalAll, ReportsMauveWithAGpt2Scorer) {
  TempDir dir;
  auto r = run_unmask({"import", "hf", "--from", (hf_fixtures() / "gpt2").string(), "--out", (dir / "gpt2").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  // The GPT-2 has its own tokenizer: the samples of the mdlm run are scored by their text.
  write_text(dir / "refs.txt", "the quick brown fox\nyou will be lucky\na stitch in time\nmany hands make light work\n"
                               "never put off till tomorrow\nall that glitters is not gold\n");
  r = run_unmask({"--log-level", "warn", "eval", "all", "--checkpoint", run("mdlm").string(), "--scorer",
                  (dir / "gpt2").string(), "--refs", (dir / "refs.txt").string(), "--out", (dir / "report").string(),
                  "--draws", "1", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const Json j = Json::parse(r.out);
  ASSERT_TRUE(j["mauve"].contains("mauve")) << j["mauve"].dump();
  EXPECT_GE(j["mauve"]["mauve"].get<double>(), 0.0);
  EXPECT_LE(j["mauve"]["mauve"].get<double>(), 1.0);
  const auto m = run_unmask({"eval", "mauve", "--samples", (dir / "report" / "eval-samples.jsonl").string(), "--refs",
                             (dir / "refs.txt").string(), "--scorer", (dir / "gpt2").string(), "--json"});
  ASSERT_EQ(m.code, 0) << m.err;
  EXPECT_DOUBLE_EQ(Json::parse(m.out)["mauve"].get<double>(), j["mauve"]["mauve"].get<double>());
}

}  // namespace
}  // namespace unmask
