// The shard file format written by `unmask data prepare` and read (memory-
// mapped) by the loader. All integers little-endian.
//
//   offset 0    ShardHeader (256 bytes): magic "UNMASKDS", format version,
//               bytes per token (2 = uint16, 4 = uint32), vocab size,
//               token count, document count, tokenizer fingerprint (SHA-256)
//   offset 256  tokens: num_tokens × token_bytes
//   then        zero padding to a multiple of 8
//   then        document index: (num_docs + 1) × uint64 token offsets,
//               offsets[0] = 0, offsets[num_docs] = num_tokens
//
// The file size is implied exactly by the header, so truncation is detected.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "unmask/util/hash.h"
#include "unmask/util/mmap.h"

namespace unmask {

inline constexpr char kShardMagic[8] = {'U', 'N', 'M', 'A', 'S', 'K', 'D', 'S'};
inline constexpr std::uint32_t kShardVersion = 1;

struct ShardHeader {
  char magic[8];
  std::uint32_t version;
  std::uint32_t token_bytes;
  std::uint32_t vocab_size;
  std::uint32_t reserved0;
  std::uint64_t num_tokens;
  std::uint64_t num_docs;
  std::uint8_t fingerprint[32];
  std::uint8_t reserved[184];
};
static_assert(sizeof(ShardHeader) == 256, "shard header must be 256 bytes");

// 2 or 4 bytes per token for `dtype` (auto | uint16 | uint32) and this vocab.
std::uint32_t token_bytes_for(const std::string& dtype, std::int64_t vocab_size);

// Bytes of a shard with these counts (header + tokens + padding + index).
std::uint64_t shard_file_size(std::uint64_t num_tokens, std::uint64_t num_docs, std::uint32_t token_bytes);

class ShardWriter {
 public:
  ShardWriter(std::filesystem::path path, std::uint32_t token_bytes, std::uint32_t vocab_size, const Digest& fingerprint);
  ~ShardWriter();
  void add_doc(const std::vector<int>& ids);
  void close();  // writes the index and the final header
  std::uint64_t num_tokens() const { return num_tokens_; }
  std::uint64_t num_docs() const { return offsets_.size() - 1; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  // The stream's buffer is declared before the stream so that it outlives it:
  // a writer destroyed without close() (an error, a full disk) flushes the
  // stream in its destructor (found by the ASan build: heap use after free).
  std::vector<char> buffer_;
  std::ofstream out_;
  ShardHeader header_{};
  std::vector<std::uint64_t> offsets_{0};
  std::uint64_t num_tokens_ = 0;
  bool closed_ = false;
};

class ShardReader {
 public:
  // Maps and validates the file (magic, version, dtype, exact size, index).
  explicit ShardReader(const std::filesystem::path& path);

  const ShardHeader& header() const { return *header_; }
  const std::filesystem::path& path() const { return path_; }
  std::uint64_t num_tokens() const { return header_->num_tokens; }
  std::uint64_t num_docs() const { return header_->num_docs; }
  std::uint64_t doc_begin(std::uint64_t doc) const { return offsets_[doc]; }
  std::uint64_t doc_end(std::uint64_t doc) const { return offsets_[doc + 1]; }
  const std::uint64_t* offsets() const { return offsets_; }
  std::uint32_t token(std::uint64_t i) const {
    return header_->token_bytes == 2 ? reinterpret_cast<const std::uint16_t*>(tokens_)[i]
                                     : reinterpret_cast<const std::uint32_t*>(tokens_)[i];
  }
  // Copies tokens [begin, end) as int64.
  void copy_tokens(std::uint64_t begin, std::uint64_t end, std::int64_t* out) const;
  // Checks every token id is below the vocab size (reads the whole shard).
  void verify_tokens() const;

 private:
  std::filesystem::path path_;
  MappedFile file_;
  const ShardHeader* header_ = nullptr;
  const unsigned char* tokens_ = nullptr;
  const std::uint64_t* offsets_ = nullptr;
};

}  // namespace unmask
