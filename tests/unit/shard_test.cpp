// Shard format: write/read round trip in both dtypes, and every way a shard
// can be wrong (magic, version, truncation, index, out-of-vocab ids).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>

#include "test_util.h"
#include "unmask/data/shard.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

using namespace unmask::test;

std::vector<std::vector<int>> random_docs(int vocab, int n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::vector<int>> docs(n);
  for (auto& d : docs) {
    d.resize(rng() % 50);  // empty documents included
    for (auto& t : d) t = static_cast<int>(rng() % vocab);
  }
  return docs;
}

void write_shard(const fs::path& path, const std::vector<std::vector<int>>& docs, std::uint32_t token_bytes,
                 std::uint32_t vocab) {
  Digest fp{};
  fp[0] = 0xAB;
  ShardWriter w(path, token_bytes, vocab, fp);
  for (const auto& d : docs) w.add_doc(d);
  w.close();
}

std::string error_of(const fs::path& path) {
  try {
    ShardReader r(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void patch(const fs::path& path, std::size_t offset, const void* bytes, std::size_t n) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(static_cast<const char*>(bytes), static_cast<std::streamsize>(n));
}

class ShardRoundTrip : public ::testing::TestWithParam<std::pair<std::uint32_t, std::uint32_t>> {};

TEST_P(ShardRoundTrip, TokensAndDocumentsComeBack) {
  const auto [token_bytes, vocab] = GetParam();
  TempDir dir;
  const auto docs = random_docs(static_cast<int>(vocab), 200, 7);
  write_shard(dir / "s.bin", docs, token_bytes, vocab);
  ShardReader r(dir / "s.bin");
  ASSERT_EQ(r.num_docs(), docs.size());
  std::uint64_t total = 0;
  for (const auto& d : docs) total += d.size();
  EXPECT_EQ(r.num_tokens(), total);
  EXPECT_EQ(r.header().vocab_size, vocab);
  EXPECT_EQ(r.header().fingerprint[0], 0xAB);
  EXPECT_EQ(fs::file_size(dir / "s.bin"), shard_file_size(total, docs.size(), token_bytes));
  for (std::size_t i = 0; i < docs.size(); ++i) {
    std::vector<std::int64_t> got(r.doc_end(i) - r.doc_begin(i));
    r.copy_tokens(r.doc_begin(i), r.doc_end(i), got.data());
    ASSERT_EQ(got, std::vector<std::int64_t>(docs[i].begin(), docs[i].end())) << "doc " << i;
  }
  r.verify_tokens();
}

INSTANTIATE_TEST_SUITE_P(Dtypes, ShardRoundTrip,
                         ::testing::Values(std::make_pair(2u, 65536u), std::make_pair(4u, 100000u),
                                           std::make_pair(4u, 50u)));

TEST(Shard, DtypeFollowsVocabSize) {
  EXPECT_EQ(token_bytes_for("auto", 32000), 2u);
  EXPECT_EQ(token_bytes_for("auto", 65536), 2u);
  EXPECT_EQ(token_bytes_for("auto", 65537), 4u);
  EXPECT_EQ(token_bytes_for("uint32", 100), 4u);
  try {
    token_bytes_for("uint16", 100000);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("vocab size 100000 is too large for uint16"), std::string::npos);
  }
  EXPECT_THROW(token_bytes_for("int8", 10), Error);
}

TEST(Shard, WrongMagicIsRejected) {
  TempDir dir;
  write_shard(dir / "s.bin", random_docs(100, 5, 1), 2, 100);
  patch(dir / "s.bin", 0, "NOTASHRD", 8);
  EXPECT_NE(error_of(dir / "s.bin").find("not an unmask shard (bad magic"), std::string::npos);
  write_text(dir / "text.bin", std::string(300, 'x'));
  EXPECT_NE(error_of(dir / "text.bin").find("bad magic"), std::string::npos);
}

TEST(Shard, UnknownVersionIsRejected) {
  TempDir dir;
  write_shard(dir / "s.bin", random_docs(100, 5, 1), 2, 100);
  const std::uint32_t v = 2;
  patch(dir / "s.bin", 8, &v, 4);
  EXPECT_NE(error_of(dir / "s.bin").find("shard format version 2 is not supported"), std::string::npos);
}

TEST(Shard, TruncationIsDetected) {
  TempDir dir;
  write_shard(dir / "s.bin", random_docs(100, 50, 2), 2, 100);
  const auto size = fs::file_size(dir / "s.bin");
  fs::resize_file(dir / "s.bin", size - 3);
  EXPECT_NE(error_of(dir / "s.bin").find("truncated or corrupt shard"), std::string::npos);
  fs::resize_file(dir / "s.bin", 100);
  EXPECT_NE(error_of(dir / "s.bin").find("smaller than the 256-byte header"), std::string::npos);
  EXPECT_NE(error_of(dir / "missing.bin").find("cannot open"), std::string::npos);
}

TEST(Shard, CorruptIndexIsDetected) {
  TempDir dir;
  const auto docs = random_docs(100, 10, 3);
  write_shard(dir / "s.bin", docs, 4, 100);
  ShardReader good(dir / "s.bin");
  const std::uint64_t index_at = fs::file_size(dir / "s.bin") - (docs.size() + 1) * 8;
  const std::uint64_t bogus = 1;
  patch(dir / "s.bin", index_at, &bogus, 8);  // offsets[0] must be 0
  EXPECT_NE(error_of(dir / "s.bin").find("corrupt document index"), std::string::npos);
}

TEST(Shard, OutOfVocabularyIdsAreFoundByVerify) {
  TempDir dir;
  write_shard(dir / "s.bin", {{1, 2, 3}, {4, 99}}, 2, 50);
  ShardReader r(dir / "s.bin");
  try {
    r.verify_tokens();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("token 99 at position 4 is outside the vocabulary"), std::string::npos);
  }
}

}  // namespace
}  // namespace unmask
