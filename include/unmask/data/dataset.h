// One split of a prepared data directory (all its shards, memory-mapped) and
// the two ways of cutting it into fixed-length rows:
//   pad  : one document per row: [BOS] doc[:L-2] [EOS] [PAD]...   (MDLM LM1B)
//   wrap : documents joined as doc [EOS] doc [EOS] ..., cut into chunks of
//          L-2 tokens, each row [BOS] chunk [EOS]; the tail is dropped (MDLM OWT)
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "unmask/data/shard.h"
#include "unmask/tokenizer/tokenizer.h"

namespace unmask {

enum class RowMode { Pad, Wrap };
RowMode parse_row_mode(const std::string& name);  // pad | wrap
const char* row_mode_name(RowMode mode);

class ShardedSplit {
 public:
  // Opens DIR/meta.json and the split's shards. If `tokenizer_fingerprint` is
  // non-empty it must equal the one the shards were made with.
  ShardedSplit(const std::filesystem::path& data_dir, const std::string& split,
               const std::string& tokenizer_fingerprint = "");

  const std::string& split() const { return split_; }
  const std::string& fingerprint() const { return fingerprint_; }
  std::int64_t vocab_size() const { return vocab_size_; }
  const SpecialTokens& special() const { return special_; }
  std::uint64_t num_docs() const { return doc_prefix_.back(); }
  std::uint64_t num_tokens() const { return token_prefix_.back(); }
  std::size_t num_shards() const { return shards_.size(); }
  const ShardReader& shard(std::size_t i) const { return *shards_[i]; }

  std::uint64_t doc_length(std::uint64_t doc) const;
  // Copies up to `max_tokens` tokens of document `doc` to `out`; returns how many.
  std::uint64_t copy_doc(std::uint64_t doc, std::uint64_t max_tokens, std::int64_t* out) const;
  // The wrap stream (each document followed by EOS): its length and a copy of
  // positions [begin, begin + n).
  std::uint64_t stream_length() const { return num_tokens() + num_docs(); }
  void copy_stream(std::uint64_t begin, std::uint64_t n, std::int64_t* out) const;

 private:
  std::pair<std::size_t, std::uint64_t> locate_doc(std::uint64_t doc) const;

  std::string split_, fingerprint_;
  std::int64_t vocab_size_ = 0;
  SpecialTokens special_;
  std::vector<std::unique_ptr<ShardReader>> shards_;
  std::vector<std::uint64_t> doc_prefix_{0};    // documents before shard i
  std::vector<std::uint64_t> token_prefix_{0};  // tokens before shard i
};

// Fixed-length rows over a split.
class RowSource {
 public:
  // `pad_loss`: the [PAD] positions after EOS count as real (mask true), so
  // the model is trained to produce them and a sample can end (data.pad_loss).
  RowSource(const ShardedSplit& split, RowMode mode, std::int64_t length, bool pad_loss = false);
  std::uint64_t num_rows() const { return num_rows_; }
  std::int64_t length() const { return length_; }
  RowMode mode() const { return mode_; }
  // Fills `tokens` (length ids) and `mask` (true at real tokens, false at padding).
  void row(std::uint64_t index, std::int64_t* tokens, bool* mask) const;

 private:
  const ShardedSplit& split_;
  RowMode mode_;
  std::int64_t length_;
  bool pad_loss_;
  std::uint64_t num_rows_ = 0;
};

}  // namespace unmask
