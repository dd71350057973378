// HF model directories through the CLI (tiny random models from
// tests/fixtures/make_hf_fixtures.py): import hf → sample and eval; export hf
// → transformers loads it and reproduces the original logits
// (tests/fixtures/check_hf_export.py); init.from starts training from the HF
// weights, lists what the source lacks, and refuses a mismatched tokenizer or
// architecture; bad directories are one line, exit 1, nothing written.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace unmask {
namespace {

using namespace unmask::test;

fs::path hf(const std::string& name) { return hf_fixtures() / name; }

// The fortunes (three files) prepared with the tokenizer of `tokenizer_dir`.
void prepare(const fs::path& tokenizer_dir, const fs::path& out) {
  std::vector<std::string> args = {"data", "prepare", "--tokenizer", tokenizer_dir.string(), "--out", out.string(),
                                   "--format", "docs", "--doc-separator", "percent", "--val-fraction", "0.05",
                                   "--input"};
  const auto files = fortune_files();
  for (std::size_t i = 0; i < 3 && i < files.size(); ++i) args.push_back(files[i].string());
  const auto r = run_unmask(args);
  ASSERT_EQ(r.code, 0) << r.err;
}

RunResult check_export(const fs::path& exported, const std::string& name) {
  return run_command(std::string(UNMASK_PYTHON) + " " + UNMASK_SOURCE_DIR + "/tests/fixtures/check_hf_export.py " +
                     exported.string() + " " + (hf_fixtures() / (name + "_io.safetensors")).string() + " " +
                     hf(name).string());
}

// A training config for the tiny fixture BERT (hidden 32, 2 layers, 4 heads,
// intermediate 64, 64 positions).
std::string bert_config(const fs::path& data, const fs::path& from, const std::string& extra_model) {
  return R"({"seed": 5, "model": {"backbone": "bert", "hidden": 32, "layers": 2, "heads": 4, "mlp_ratio": 2.0,
    "dropout": 0.0, "max_length": 64)" + extra_model + R"(}, "init": {"from": ")" + from.string() + R"("},
    "diffusion": {"objective": "mdlm"}, "data": {"path": ")" + data.string() + R"(", "mode": "pad", "length": 32},
    "train": {"batch_size": 4, "max_steps": 1, "lr": 1e-12, "warmup_steps": 0, "ema": 0.0, "log_every": 1,
              "eval_every": 1, "val_batches": 1, "checkpoint_every": 1, "sample_every": 0, "device": "cpu"}})";
}

TEST(HfRun, ImportSampleEvalAndExportRoundTrip) {
  const TempDir dir;
  // An MLM evaluated as a masked-diffusion model has an ELBO: objective mdlm.
  auto r = run_unmask({"import", "hf", "--from", hf("bert").string(), "--out", (dir / "run").string(), "--json",
                       "--set", "diffusion.objective=mdlm"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto summary = nlohmann::json::parse(r.out);
  EXPECT_EQ(summary["architecture"], "BertForMaskedLM");
  EXPECT_EQ(summary["objective"], "mdlm");
  EXPECT_EQ(summary["backbone"], "bert");
  EXPECT_EQ(summary["vocab_size"], 1000);
  r = run_unmask({"sample", "--checkpoint", (dir / "run").string(), "--num", "2", "--length", "16", "--steps", "4",
                  "--out", (dir / "s.jsonl").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  prepare(hf("bert"), dir / "data");
  r = run_unmask({"eval", "ppl", "--checkpoint", (dir / "run").string(), "--data", (dir / "data").string(),
                  "--max-rows", "8", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_GT(nlohmann::json::parse(r.out)["ppl"].get<double>(), 1.0);
  r = run_unmask({"export", "hf", "--checkpoint", (dir / "run").string(), "--out", (dir / "exported").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  r = check_export(dir / "exported", "bert");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  // An imported run has no optimizer state: resuming it says what to do instead.
  write_text(dir / "c.json", bert_config(dir / "data", hf("bert"), ""));
  r = run_unmask({"train", "--config", (dir / "c.json").string(), "--out", (dir / "run").string(), "--resume"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("it has no optimizer state (written by 'unmask import hf'?)"), std::string::npos) << r.err;
}

// roberta-base's layer_norm_eps (1e-5) and RobertaConfig's default (1e-12):
// both import, and the export writes the model's own value back.
TEST(HfRun, RobertaExportRoundTrip) {
  for (const std::string name : {"roberta", "roberta_eps"}) {
    const TempDir dir;
    auto r = run_unmask({"import", "hf", "--from", hf(name).string(), "--out", (dir / "run").string()});
    if (r.err.find("'BPE' is not supported") != std::string::npos) GTEST_FAIL() << "byte-level BPE tokenizer missing";
    ASSERT_EQ(r.code, 0) << name << ": " << r.err;
    r = run_unmask({"export", "hf", "--checkpoint", (dir / "run").string(), "--out", (dir / "exported").string()});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(read_text(dir / "exported" / "config.json"))["layer_norm_eps"],
              nlohmann::json::parse(read_text(hf(name) / "config.json"))["layer_norm_eps"]) << name;
    r = check_export(dir / "exported", name);
    EXPECT_EQ(r.code, 0) << name << ": " << r.out << r.err;
  }
}

// GPT-2 as the gen-ppl scorer: the same perplexity as transformers' GPT-2
// with the directory's own tokenizer (tests/fixtures/check_gpt2_scoring.py).
TEST(HfRun, Gpt2ScorerGivesTransformersPerplexity) {
  const TempDir dir;
  auto r = run_unmask({"import", "hf", "--from", hf("gpt2").string(), "--out", (dir / "gpt2").string(), "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto summary = nlohmann::json::parse(r.out);
  EXPECT_EQ(summary["backbone"], "gpt2");
  EXPECT_EQ(summary["objective"], "ar");
  EXPECT_EQ(summary["vocab_size"], 1000);  // GPT-2's rows, beside the tokenizer's appended [MASK]
  write_text(dir / "samples.txt",
             "A \"critic\" is a man who creates nothing and thereby feels qualified.\n"
             "Hello? his friend answers; naive cafe, 42 times!\n"
             "You will be successful in your work.\n");
  r = run_unmask({"eval", "gen-ppl", "--samples", (dir / "samples.txt").string(), "--scorer",
                  (dir / "gpt2").string(), "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const double ours = nlohmann::json::parse(r.out)["gen_ppl"].get<double>();
  const auto ref = run_command(std::string(UNMASK_PYTHON) + " " + UNMASK_SOURCE_DIR +
                               "/tests/fixtures/check_gpt2_scoring.py " + hf("gpt2").string() + " " +
                               (dir / "samples.txt").string());
  ASSERT_EQ(ref.code, 0) << ref.err;
  const double theirs = std::stod(ref.out);
  EXPECT_NEAR(ours / theirs, 1.0, 1e-5) << ours << " vs transformers " << theirs;
  EXPECT_GT(theirs, 100.0);  // a random model: far from 1
}

// A released-MDLM layout: imported, sampled, evaluated on data prepared with
// its (GPT-2 + [MASK]) tokenizer.
TEST(HfRun, MdlmCheckpointSamplesAndEvaluates) {
  const TempDir dir;
  auto r = run_unmask({"import", "hf", "--from", hf("mdlm").string(), "--out", (dir / "mdlm").string(), "--json",
                       "--set", "data.length=64"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["backbone"], "dit");
  r = run_unmask({"sample", "--checkpoint", (dir / "mdlm").string(), "--num", "2", "--length", "32", "--steps", "8",
                  "--out", (dir / "s.jsonl").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  prepare(hf("mdlm"), dir / "data");
  r = run_unmask({"eval", "ppl", "--checkpoint", (dir / "mdlm").string(), "--data", (dir / "data").string(),
                  "--max-rows", "4", "--draws", "2", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_GT(nlohmann::json::parse(r.out)["ppl"].get<double>(), 1.0);
}

TEST(HfRun, InitFromHfBertTrainsFromItsWeights) {
  const TempDir dir;
  prepare(hf("bert"), dir / "data");
  // lr 1e-12: one step leaves the weights within float32 rounding of BERT's.
  write_text(dir / "c.json", bert_config(dir / "data", hf("bert"), ""));
  auto r = run_unmask({"train", "--config", (dir / "c.json").string(), "--out", (dir / "run").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("init.from: weights of BertForMaskedLM"), std::string::npos) << r.err;
  r = run_unmask({"export", "hf", "--checkpoint", (dir / "run").string(), "--out", (dir / "exported").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  r = check_export(dir / "exported", "bert");
  EXPECT_EQ(r.code, 0) << r.out << r.err;

  // DiffusionBERT's layer-wise time embedding is not in BERT: listed, initialised.
  write_text(dir / "lte.json", bert_config(dir / "data", hf("bert"), R"(, "time_conditioning": "layerwise")"));
  r = run_unmask({"train", "--config", (dir / "lte.json").string(), "--out", (dir / "lte").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("tensors not in the source keep the bert initialisation: "
                       "bert.encoder.layer.0.timestep_embedding.0.weight"),
            std::string::npos)
      << r.err;
}

TEST(HfRun, InitFromRefusesAnotherTokenizerOrArchitecture) {
  const TempDir dir;
  write_text(dir / "c.json", bert_config(fortune_data(), hf("bert"), ""));
  auto r = run_unmask({"train", "--config", (dir / "c.json").string(), "--out", (dir / "run").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("prepare the data with 'unmask data prepare --tokenizer"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "run" / "checkpoints"));
  prepare(hf("bert"), dir / "data");
  write_text(dir / "wide.json", bert_config(dir / "data", hf("bert"), "") );
  r = run_unmask({"train", "--config", (dir / "wide.json").string(), "--set", "model.hidden=64", "--set",
                  "model.heads=8", "--out", (dir / "wide").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("is a different architecture: set model.hidden=32 (config: 64), model.heads=4 (config: 8)"),
            std::string::npos)
      << r.err;
}

TEST(HfRun, BadDirectoriesFailInOneLineAndWriteNothing) {
  const TempDir dir;
  fs::create_directories(dir / "pickled");
  fs::copy(hf("bert") / "config.json", dir / "pickled" / "config.json");
  fs::copy(hf("bert") / "tokenizer.json", dir / "pickled" / "tokenizer.json");
  write_text(dir / "pickled" / "pytorch_model.bin", "not a zip");
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"import", "hf", "--from", (dir / "pickled").string(), "--out", (dir / "o1").string()},
       "pickled weights are not read"},
      {{"import", "hf", "--from", (dir / "nowhere").string(), "--out", (dir / "o2").string()}, "does not exist"},
      {{"import", "hf", "--from", hf("bert").string(), "--out", (dir / "o3").string(), "--set", "model.layers=3"},
       "would change the architecture"},
      {{"export", "hf", "--checkpoint", fortune_data().string(), "--out", (dir / "o4").string()}, "no checkpoint"},
  };
  for (const auto& c : cases) {
    const auto r = run_unmask(c.args);
    EXPECT_EQ(r.code, 1) << c.says;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  for (const char* out : {"o1", "o2", "o3", "o4"}) EXPECT_FALSE(fs::exists(dir / out)) << out;
}

}  // namespace
}  // namespace unmask
