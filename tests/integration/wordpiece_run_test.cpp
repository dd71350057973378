// An HF WordPiece tokenizer laid out as bert-base-uncased ([PAD] 0, [UNK] 100,
// [CLS] 101, [SEP] 102, [MASK] 103) through the whole loop: data prepare,
// train, sample. The special ids come from the tokenizer everywhere: the data
// and checkpoint record them, rows start with [CLS], nothing sampled is
// [MASK], and the texts decode.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.h"
#include "unmask/tokenizer/tokenizer.h"

namespace unmask {
namespace {

using namespace unmask::test;

TEST(WordPieceRun, PrepareTrainAndSampleWithBertsSpecialIds) {
  const fs::path vocab_dir = wordpiece_fixtures() / "bert-layout";
  const auto tok = load_tokenizer(vocab_dir);
  const SpecialTokens& s = tok->special();
  ASSERT_EQ(std::vector<int>({s.pad, s.unk, s.bos, s.eos, s.mask}), std::vector<int>({0, 100, 101, 102, 103}));
  const TempDir dir;
  std::vector<std::string> args = {"data", "prepare", "--tokenizer", vocab_dir.string(), "--out",
                                   (dir / "data").string(), "--format", "docs", "--doc-separator", "percent",
                                   "--val-fraction", "0.05", "--input"};
  const auto files = fortune_files();
  for (std::size_t i = 0; i < 3 && i < files.size(); ++i) args.push_back(files[i].string());
  auto r = run_unmask(args);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto meta = nlohmann::json::parse(read_text(dir / "data" / "tokenizer" / "tokenizer.json"));
  EXPECT_EQ(meta["type"], "wordpiece");
  EXPECT_EQ(meta["special"]["mask"], 103);
  write_text(dir / "c.json", R"({"seed": 3, "model": {"backbone": "bert", "hidden": 32, "layers": 1, "heads": 2,
    "dropout": 0.0, "max_length": 32}, "diffusion": {"objective": "mdlm"},
    "data": {"path": ")" + (dir / "data").string() + R"(", "mode": "pad", "length": 24},
    "train": {"batch_size": 8, "max_steps": 4, "lr": 0.003, "warmup_steps": 0, "ema": 0.0, "log_every": 2,
              "eval_every": 4, "val_batches": 1, "checkpoint_every": 4, "sample_every": 0, "device": "cpu"}})");
  r = run_unmask({"train", "--config", (dir / "c.json").string(), "--out", (dir / "run").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  r = run_unmask({"sample", "--checkpoint", (dir / "run").string(), "--num", "3", "--length", "20", "--steps", "8",
                  "--out", (dir / "s.jsonl").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream in(read_text(dir / "s.jsonl"));
  int rows = 0;
  for (std::string line; std::getline(in, line); ++rows) {
    const auto j = nlohmann::json::parse(line);
    const auto ids = j["ids"].get<std::vector<int>>();
    ASSERT_EQ(ids.size(), 20u);
    EXPECT_EQ(ids[0], 101) << "BOS is [CLS]";
    for (int id : ids) {
      EXPECT_NE(id, 103) << "a [MASK] was left in a sample";
      EXPECT_TRUE(id >= 0 && id < tok->vocab_size()) << id;
    }
    EXPECT_TRUE(j["text"].is_string());
  }
  EXPECT_EQ(rows, 3);
}

}  // namespace
}  // namespace unmask
