// Rows as the loader cuts them: pad (one document per row) and wrap (the
// document stream with EOS, chunks of L-2 between BOS and EOS), checked
// against a direct reconstruction from the shards, across shard boundaries.
#include <gtest/gtest.h>

#include <functional>

#include "test_util.h"
#include "unmask/data/dataset.h"
#include "unmask/data/prepare.h"
#include "unmask/tokenizer/tokenizer.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

using namespace unmask::test;

std::vector<std::int64_t> whole_stream(const ShardedSplit& split) {
  std::vector<std::int64_t> stream;
  for (std::size_t s = 0; s < split.num_shards(); ++s) {
    const ShardReader& shard = split.shard(s);
    for (std::uint64_t d = 0; d < shard.num_docs(); ++d) {
      for (std::uint64_t i = shard.doc_begin(d); i < shard.doc_end(d); ++i) stream.push_back(shard.token(i));
      stream.push_back(split.special().eos);
    }
  }
  return stream;
}

TEST(Dataset, FortuneDataHasSeveralShards) {
  const ShardedSplit split(fortune_data(), "train");
  EXPECT_GT(split.num_shards(), 2u);
  EXPECT_EQ(split.vocab_size(), 2000);
  EXPECT_EQ(split.special().bos, 2);
}

TEST(Dataset, PadRowsAreBosDocEosThenPadding) {
  const ShardedSplit split(fortune_data(), "train");
  const std::int64_t L = 24;
  const RowSource rows(split, RowMode::Pad, L);
  ASSERT_EQ(rows.num_rows(), split.num_docs());
  std::vector<std::int64_t> tokens(L), doc(4096);
  std::vector<char> mask(L);
  bool saw_short = false, saw_long = false;
  for (std::uint64_t r = 0; r < rows.num_rows(); r += 97) {
    rows.row(r, tokens.data(), reinterpret_cast<bool*>(mask.data()));
    const std::uint64_t len = split.doc_length(r);
    const std::uint64_t n = std::min<std::uint64_t>(len, L - 2);
    split.copy_doc(r, n, doc.data());
    ASSERT_EQ(tokens[0], 2);
    for (std::uint64_t i = 0; i < n; ++i) ASSERT_EQ(tokens[i + 1], doc[i]);
    ASSERT_EQ(tokens[n + 1], 3);
    for (std::int64_t i = 0; i < L; ++i) {
      ASSERT_EQ(static_cast<bool>(mask[i]), i < static_cast<std::int64_t>(n + 2));
      if (i >= static_cast<std::int64_t>(n + 2)) ASSERT_EQ(tokens[i], 0);
    }
    (len > static_cast<std::uint64_t>(L - 2) ? saw_long : saw_short) = true;
  }
  EXPECT_TRUE(saw_short);
  EXPECT_TRUE(saw_long);
}

TEST(Dataset, WrapRowsFollowTheDocumentStreamAcrossShards) {
  const ShardedSplit split(fortune_data(), "train");
  const auto stream = whole_stream(split);
  ASSERT_EQ(stream.size(), split.stream_length());
  for (std::int64_t L : {3, 17, 128}) {
    const RowSource rows(split, RowMode::Wrap, L);
    const std::uint64_t body = L - 2;
    ASSERT_EQ(rows.num_rows(), stream.size() / body);
    std::vector<std::int64_t> tokens(L);
    std::vector<char> mask(L);
    for (std::uint64_t r = 0; r < rows.num_rows(); r += (L == 3 ? 9973 : 101)) {
      rows.row(r, tokens.data(), reinterpret_cast<bool*>(mask.data()));
      ASSERT_EQ(tokens[0], 2);
      ASSERT_EQ(tokens[L - 1], 3);
      for (std::uint64_t i = 0; i < body; ++i) ASSERT_EQ(tokens[i + 1], stream[r * body + i]) << "row " << r;
      for (char m : mask) ASSERT_TRUE(m);
    }
    // The last row, which ends closest to the end of the stream.
    rows.row(rows.num_rows() - 1, tokens.data(), reinterpret_cast<bool*>(mask.data()));
    for (std::uint64_t i = 0; i < body; ++i) ASSERT_EQ(tokens[i + 1], stream[(rows.num_rows() - 1) * body + i]);
  }
}

TEST(Dataset, TokenizerFingerprintMustMatch) {
  const auto tok = load_tokenizer(fortune_tokenizer());
  EXPECT_NO_THROW(ShardedSplit(fortune_data(), "train", tok->fingerprint()));
  try {
    ShardedSplit(fortune_data(), "train", std::string(64, 'a'));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer mismatch"), std::string::npos) << e.what();
  }
}

TEST(Dataset, MissingSplitsAndDirectoriesAreErrors) {
  TempDir dir;
  try {
    ShardedSplit(fortune_data(), "test");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has no 'test' split (it has: train, val)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ShardedSplit(dir / "none", "train"), Error);
  EXPECT_THROW(ShardedSplit(dir.path(), "train"), Error);  // no meta.json
  const ShardedSplit split(fortune_data(), "val");
  EXPECT_THROW(RowSource(split, RowMode::Pad, 2), Error);
  EXPECT_THROW(parse_row_mode("pack"), Error);
}

// meta.json edited by hand or damaged: each field is checked before use.
TEST(Dataset, ADamagedMetaJsonIsNamed) {
  TempDir dir;
  fs::copy(fortune_data(), dir / "data", fs::copy_options::recursive);
  const fs::path meta_path = dir / "data" / "meta.json";
  const auto meta = nlohmann::json::parse(read_text(meta_path));
  auto error_with = [&](const std::function<void(nlohmann::json&)>& edit) {
    auto m = meta;
    edit(m);
    write_text(meta_path, m.dump());
    return error_of([&] { ShardedSplit(dir / "data", "train"); });
  };
  EXPECT_NE(error_with([](auto& m) { m["tokenizer"]["special"]["mask"] = 1 << 30; })
                .find("special token mask = 1073741824 is outside the vocabulary"),
            std::string::npos);
  EXPECT_NE(error_with([](auto& m) { m["tokenizer"]["special"]["pad"] = -1; }).find("special token pad = -1"),
            std::string::npos);
  EXPECT_NE(error_with([](auto& m) { m["tokenizer"]["special"]["eos"] = 3.5; }).find("invalid or incomplete"),
            std::string::npos);
  EXPECT_NE(error_with([](auto& m) { m["tokenizer"]["vocab_size"] = 0; }).find("vocab_size 0 is not between"),
            std::string::npos);
  EXPECT_NE(error_with([](auto& m) { m.erase("splits"); }).find("invalid or incomplete"), std::string::npos);
  EXPECT_NE(error_with([](auto& m) { m["splits"] = 7; }).find("'splits' is not a JSON object"), std::string::npos);
  EXPECT_NE(error_with([](auto& m) { m["splits"]["train"]["shards"] = {"../../etc/passwd"}; })
                .find("shard name '../../etc/passwd' of split 'train' is not a file name inside"),
            std::string::npos);
  EXPECT_NE(error_with([](auto& m) { m["splits"]["train"]["shards"] = {"gone.bin"}; }).find("gone.bin"),
            std::string::npos);
  write_text(meta_path, meta.dump());
  EXPECT_GT(ShardedSplit(dir / "data", "train").num_docs(), 0u);
}

// data.pad_loss: the same tokens ([PAD] after EOS), but every position real.
TEST(Dataset, PadLossMakesThePaddingReal) {
  const ShardedSplit split(fortune_data(), "val");
  const RowSource plain(split, RowMode::Pad, 64), padded(split, RowMode::Pad, 64, true);
  std::vector<std::int64_t> a(64), b(64);
  bool ma[64], mb[64];
  int rows_with_padding = 0;
  for (std::uint64_t i = 0; i < 50; ++i) {
    plain.row(i, a.data(), ma);
    padded.row(i, b.data(), mb);
    EXPECT_EQ(a, b);
    rows_with_padding += !ma[63];
    for (int j = 0; j < 64; ++j) {
      EXPECT_TRUE(mb[j]);
      if (!ma[j]) EXPECT_EQ(b[j], split.special().pad);
    }
  }
  EXPECT_GT(rows_with_padding, 10);  // the check saw padding
}

TEST(Dataset, ShardFromAnotherPreparationIsRefused) {
  TempDir dir;
  fs::copy(fortune_data(), dir / "data", fs::copy_options::recursive);
  // Replace a train shard by one written with a different fingerprint.
  const ShardedSplit split(fortune_data(), "train");
  Digest other{};
  other[5] = 1;
  ShardWriter w(dir / "data" / "train-00001.bin", 2, 2000, other);
  w.add_doc({5, 6, 7});
  w.close();
  try {
    ShardedSplit(dir / "data", "train");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer fingerprint in the shard differs"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace unmask
