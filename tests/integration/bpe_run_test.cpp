// An HF byte-level BPE tokenizer (GPT-2 style, trained on the fortunes by HF
// `tokenizers`) through `unmask data prepare` and `unmask tokenizer encode`:
// the prepared data records the tokenizer with its appended [MASK], the copy
// it keeps encodes as HF does, and a model trains and samples with
// <|endoftext|> as BOS, EOS and pad.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.h"
#include "unmask/tokenizer/tokenizer.h"

namespace unmask {
namespace {

using namespace unmask::test;

TEST(BpeRun, PrepareEncodeTrainAndSampleWithGpt2sSpecialIds) {
  const fs::path hf = bpe_fixtures() / "gpt2";
  const TempDir dir;
  std::vector<std::string> args = {"data", "prepare", "--tokenizer", hf.string(), "--out", (dir / "data").string(),
                                   "--format", "docs", "--doc-separator", "percent", "--val-fraction", "0.05",
                                   "--input"};
  const auto files = fortune_files();
  for (std::size_t i = 0; i < 3 && i < files.size(); ++i) args.push_back(files[i].string());
  auto r = run_unmask(args);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto meta = nlohmann::json::parse(read_text(dir / "data" / "tokenizer" / "tokenizer.json"));
  EXPECT_EQ(meta["type"], "bpe");
  EXPECT_EQ(meta["vocab_size"], 4001);
  EXPECT_EQ(meta["special"]["mask"], 4000);
  EXPECT_EQ(meta["special"]["pad"], meta["special"]["eos"]);
  EXPECT_EQ(meta["fingerprint"], load_tokenizer(hf)->fingerprint());
  // The stored copy encodes the edge cases as HF does.
  std::ifstream in(hf / "expected.jsonl");
  std::vector<nlohmann::json> cases;
  for (std::string line; std::getline(in, line);) cases.push_back(nlohmann::json::parse(line));
  std::string input, want;
  for (std::size_t i = cases.size() - 40; i < cases.size(); ++i) {
    const std::string text = cases[i]["text"];
    if (text.find_first_of("\r\n") != std::string::npos) continue;  // one line each
    input += text + "\n";
    std::string ids;
    for (int id : cases[i]["ids"].get<std::vector<int>>()) ids += (ids.empty() ? "" : " ") + std::to_string(id);
    want += ids + "\n";
  }
  r = run_unmask({"tokenizer", "encode", "--tokenizer", (dir / "data" / "tokenizer").string()}, input);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, want);
  // Training and sampling run with pad = BOS = EOS = <|endoftext|> (0); no [MASK] is left in a sample.
  write_text(dir / "c.json", R"({"seed": 3, "model": {"backbone": "bert", "hidden": 32, "layers": 1, "heads": 2,
    "dropout": 0.0, "max_length": 32}, "diffusion": {"objective": "mdlm"},
    "data": {"path": ")" + (dir / "data").string() + R"(", "mode": "pad", "length": 24},
    "train": {"batch_size": 8, "max_steps": 2, "lr": 0.003, "warmup_steps": 0, "ema": 0.0, "log_every": 1,
              "eval_every": 2, "val_batches": 1, "checkpoint_every": 2, "sample_every": 0, "device": "cpu"}})");
  r = run_unmask({"train", "--config", (dir / "c.json").string(), "--out", (dir / "run").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  r = run_unmask({"sample", "--checkpoint", (dir / "run").string(), "--num", "2", "--length", "16", "--steps", "4",
                  "--out", (dir / "s.jsonl").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream samples(read_text(dir / "s.jsonl"));
  int rows = 0;
  for (std::string line; std::getline(samples, line); ++rows) {
    const auto ids = nlohmann::json::parse(line)["ids"].get<std::vector<int>>();
    ASSERT_FALSE(ids.empty());
    EXPECT_EQ(ids[0], 0) << "BOS is <|endoftext|>";
    for (int id : ids) EXPECT_TRUE(id >= 0 && id < 4000) << id;  // never the appended [MASK]
  }
  EXPECT_EQ(rows, 2);
}

}  // namespace
}  // namespace unmask
