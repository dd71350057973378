// An HF byte-level BPE tokenizer (GPT-2 style, trained on the fortunes by HF
// `tokenizers`) through `unmask data prepare` and `unmask tokenizer encode`:
// the prepared data records the tokenizer with its appended [MASK], and the
// copy it keeps encodes as HF does.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util.h"
#include "unmask/tokenizer/tokenizer.h"

namespace unmask {
namespace {

using namespace unmask::test;

TEST(BpeRun, PrepareThenEncodeWithTheStoredTokenizer) {
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
}

}  // namespace
}  // namespace unmask
