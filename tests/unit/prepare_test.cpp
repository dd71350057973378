// data prepare: shards decode back to the input, output does not depend on
// the thread count, splits are deterministic, and bad input leaves nothing.
#include <gtest/gtest.h>

#include "test_util.h"
#include "unmask/data/dataset.h"
#include "unmask/data/prepare.h"
#include "unmask/tokenizer/tokenizer.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

using namespace unmask::test;

PrepareOptions fortune_options(const fs::path& out) {
  PrepareOptions o;
  o.inputs = fortune_files();
  o.corpus.format = CorpusFormat::Docs;
  o.corpus.separator = DocSeparator::Percent;
  o.tokenizer = fortune_tokenizer();
  o.out = out;
  return o;
}

std::vector<std::string> decoded_docs(const fs::path& data, const std::string& split_name, const Tokenizer& tok) {
  const ShardedSplit split(data, split_name);
  std::vector<std::string> out;
  std::vector<std::int64_t> buf;
  for (std::uint64_t d = 0; d < split.num_docs(); ++d) {
    buf.resize(split.doc_length(d));
    split.copy_doc(d, buf.size(), buf.data());
    out.push_back(tok.decode(std::vector<int>(buf.begin(), buf.end())));
  }
  return out;
}

TEST(Prepare, ShardsDecodeBackToTheCorpusInOrder) {
  TempDir dir;
  auto o = fortune_options(dir / "d");
  o.val_fraction = 0.1;
  o.test_fraction = 0.05;
  const auto s = prepare_data(o);
  const auto tok = load_tokenizer(fortune_tokenizer());
  CorpusReader reader(o.inputs, o.corpus);
  std::vector<std::string> all;
  for (std::string t; reader.next(t);) all.push_back(t);
  const auto train = decoded_docs(o.out, "train", *tok), val = decoded_docs(o.out, "val", *tok),
             test = decoded_docs(o.out, "test", *tok);
  EXPECT_EQ(train.size() + val.size() + test.size(), all.size());
  EXPECT_EQ(s.corpus.examples, all.size());
  // Each split is a subsequence of the corpus, in corpus order.
  std::size_t i = 0, j = 0, k = 0;
  for (const auto& text : all) {
    if (i < train.size() && train[i] == text) ++i;
    else if (j < val.size() && val[j] == text) ++j;
    else if (k < test.size() && test[k] == text) ++k;
  }
  EXPECT_EQ(i, train.size());
  EXPECT_EQ(j, val.size());
  EXPECT_EQ(k, test.size());
  EXPECT_NEAR(static_cast<double>(val.size()) / all.size(), 0.1, 0.02);
  EXPECT_NEAR(static_cast<double>(test.size()) / all.size(), 0.05, 0.015);
}

TEST(Prepare, OutputIsTheSameForAnyThreadCountAndBlockSize) {
  TempDir dir;
  auto a = fortune_options(dir / "a");
  a.threads = 1;
  auto b = fortune_options(dir / "b");
  b.threads = 3;
  b.block_bytes = 10000;  // many blocks
  prepare_data(a);
  prepare_data(b);
  for (const auto& name : list_tree(a.out)) {
    if (fs::is_directory(a.out / name)) continue;
    ASSERT_EQ(read_text(a.out / name), read_text(b.out / name)) << name;
  }
  EXPECT_EQ(list_tree(a.out), list_tree(b.out));
}

TEST(Prepare, ShardsAreCutAtTheTokenLimitAndUint32Works) {
  TempDir dir;
  auto o = fortune_options(dir / "d");
  o.inputs = {fortune_files().front()};
  o.shard_tokens = 5000;
  o.dtype = "uint32";
  const auto s = prepare_data(o);
  EXPECT_GT(s.splits.at("train").shards.size(), 3u);
  EXPECT_EQ(s.token_bytes, 4u);
  const ShardedSplit split(o.out, "train");
  EXPECT_EQ(split.num_tokens(), s.splits.at("train").tokens);
  EXPECT_EQ(split.shard(0).header().token_bytes, 4u);
}

TEST(Prepare, InvalidUtf8IsCountedInTheMetadata) {
  TempDir dir;
  write_text(dir / "c.txt", "a good line\nbad \xff line\nanother \xfe\xfe one\nfine\n");
  auto o = fortune_options(dir / "d");
  o.inputs = {dir / "c.txt"};
  o.corpus = {};
  o.val_fraction = 0;
  const auto s = prepare_data(o);
  EXPECT_EQ(s.corpus.invalid_utf8_repaired, 2u);
  const auto meta = nlohmann::json::parse(read_text(o.out / "meta.json"));
  EXPECT_EQ(meta["source"]["invalid_utf8_repaired"], 2);
  EXPECT_EQ(meta["splits"]["train"]["docs"], 4);
  o.corpus.utf8 = Utf8Policy::Skip;
  o.out = dir / "skip";
  EXPECT_EQ(prepare_data(o).splits.at("train").docs, 2u);
}

TEST(Prepare, BadInputLeavesNothingBehind) {
  TempDir dir;
  write_text(dir / "bad.txt", "fine\nbroken \xc3\n");
  auto o = fortune_options(dir / "out");
  o.inputs = {dir / "bad.txt"};
  o.corpus = {};
  o.corpus.utf8 = Utf8Policy::Error;
  EXPECT_THROW(prepare_data(o), Error);
  write_text(dir / "empty.txt", "\n\n");
  o.inputs = {dir / "empty.txt"};
  o.corpus.utf8 = Utf8Policy::Replace;
  EXPECT_THROW(prepare_data(o), Error);
  o.inputs = {dir / "missing.txt"};
  EXPECT_THROW(prepare_data(o), Error);
  o.inputs = {dir / "bad.txt"};
  o.val_fraction = 0.7;
  o.test_fraction = 0.4;
  EXPECT_THROW(prepare_data(o), Error);
  EXPECT_EQ(list_tree(dir.path()), (std::vector<std::string>{"bad.txt", "empty.txt"}));
}

// --val-input / --test-input: a corpus's own splits (LM1B's test set, OWT's
// last 100k documents) go wholly to val/test, in order, beside the split of --input.
TEST(Prepare, OwnValidationAndTestFilesFillThoseSplits) {
  TempDir dir;
  write_text(dir / "train.txt", "one\ntwo\nthree\n");
  write_text(dir / "val.txt", "four\nfive\n");
  write_text(dir / "test.txt", "six\n");
  auto o = fortune_options(dir / "d");
  o.corpus = {};
  o.inputs = {dir / "train.txt"};
  o.val_inputs = {dir / "val.txt"};
  o.test_inputs = {dir / "test.txt"};
  o.val_fraction = 0;
  const auto s = prepare_data(o);
  const auto tok = load_tokenizer(fortune_tokenizer());
  EXPECT_EQ(decoded_docs(o.out, "train", *tok), (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(decoded_docs(o.out, "val", *tok), (std::vector<std::string>{"four", "five"}));
  EXPECT_EQ(decoded_docs(o.out, "test", *tok), (std::vector<std::string>{"six"}));
  EXPECT_EQ(s.corpus.examples, 6u);
  const auto meta = nlohmann::json::parse(read_text(o.out / "meta.json"));
  EXPECT_EQ(meta["source"]["test_inputs"][0], (dir / "test.txt").string());
  // A fraction for a split that has its own files, or a missing file, is an error before anything is written.
  o.out = dir / "e";
  o.val_fraction = 0.1;
  EXPECT_THROW(prepare_data(o), Error);
  o.val_fraction = 0;
  o.test_inputs = {dir / "missing.txt"};
  EXPECT_THROW(prepare_data(o), Error);
  EXPECT_FALSE(fs::exists(dir / "e"));
}

TEST(Prepare, ExistingOutputNeedsOverwrite) {
  TempDir dir;
  auto o = fortune_options(dir / "d");
  o.inputs = {fortune_files().front()};
  prepare_data(o);
  try {
    prepare_data(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already exists (pass --overwrite"), std::string::npos);
  }
  o.overwrite = true;
  o.val_fraction = 0;
  prepare_data(o);
  const auto meta = nlohmann::json::parse(read_text(o.out / "meta.json"));
  EXPECT_FALSE(meta["splits"].contains("val"));
  EXPECT_EQ(list_tree(dir.path()).front(), "d");  // no leftovers beside it
}

}  // namespace
}  // namespace unmask
