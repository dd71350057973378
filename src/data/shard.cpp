// Shard writing (streamed, header patched at close) and validated reading.
#include "unmask/data/shard.h"

#include <fmt/format.h>

#include <cstring>

#include "unmask/util/error.h"

namespace unmask {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "shards are little-endian; big-endian hosts unsupported");

std::uint64_t padded(std::uint64_t bytes) { return (bytes + 7) / 8 * 8; }

}  // namespace

std::uint32_t token_bytes_for(const std::string& dtype, std::int64_t vocab_size) {
  if (vocab_size < 1) throw Error("vocab size must be positive");
  if (dtype == "uint32") return 4;
  if (dtype == "uint16") {
    if (vocab_size > 65536)
      throw Error(fmt::format("vocab size {} is too large for uint16 tokens (at most 65536); use --dtype uint32 "
                              "or auto", vocab_size));
    return 2;
  }
  if (dtype == "auto") return vocab_size <= 65536 ? 2 : 4;
  throw Error("unknown token dtype '" + dtype + "' (valid: auto, uint16, uint32)");
}

std::uint64_t shard_file_size(std::uint64_t num_tokens, std::uint64_t num_docs, std::uint32_t token_bytes) {
  return sizeof(ShardHeader) + padded(num_tokens * token_bytes) + (num_docs + 1) * 8;
}

ShardWriter::ShardWriter(std::filesystem::path path, std::uint32_t token_bytes, std::uint32_t vocab_size,
                         const Digest& fingerprint)
    : path_(std::move(path)), buffer_(1 << 20) {
  std::memcpy(header_.magic, kShardMagic, 8);
  header_.version = kShardVersion;
  header_.token_bytes = token_bytes;
  header_.vocab_size = vocab_size;
  std::memcpy(header_.fingerprint, fingerprint.data(), 32);
  out_.rdbuf()->pubsetbuf(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  out_.open(path_, std::ios::binary | std::ios::trunc);
  if (!out_) throw Error("cannot write shard " + path_.string());
  // Placeholder header, rewritten with the counts at close().
  out_.write(reinterpret_cast<const char*>(&header_), sizeof header_);
}

ShardWriter::~ShardWriter() = default;

void ShardWriter::add_doc(const std::vector<int>& ids) {
  if (header_.token_bytes == 2) {
    std::vector<std::uint16_t> narrow(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) narrow[i] = static_cast<std::uint16_t>(ids[i]);
    out_.write(reinterpret_cast<const char*>(narrow.data()), static_cast<std::streamsize>(narrow.size() * 2));
  } else {
    static_assert(sizeof(int) == 4, "int must be 32-bit");
    out_.write(reinterpret_cast<const char*>(ids.data()), static_cast<std::streamsize>(ids.size() * 4));
  }
  num_tokens_ += ids.size();
  offsets_.push_back(num_tokens_);
}

void ShardWriter::close() {
  if (closed_) return;
  closed_ = true;
  const std::uint64_t token_bytes = num_tokens_ * header_.token_bytes;
  static const char zeros[8] = {};
  out_.write(zeros, static_cast<std::streamsize>(padded(token_bytes) - token_bytes));
  out_.write(reinterpret_cast<const char*>(offsets_.data()), static_cast<std::streamsize>(offsets_.size() * 8));
  header_.num_tokens = num_tokens_;
  header_.num_docs = offsets_.size() - 1;
  out_.seekp(0);
  out_.write(reinterpret_cast<const char*>(&header_), sizeof header_);
  out_.flush();
  if (!out_) throw Error("error while writing shard " + path_.string() + " (disk full?)");
  out_.close();
}

ShardReader::ShardReader(const std::filesystem::path& path) : path_(path), file_(path) {
  const std::string name = path.string();
  if (file_.size() < sizeof(ShardHeader))
    throw Error(fmt::format("{}: truncated shard: {} bytes is smaller than the 256-byte header", name, file_.size()));
  header_ = reinterpret_cast<const ShardHeader*>(file_.data());
  if (std::memcmp(header_->magic, kShardMagic, 8) != 0)
    throw Error(name + ": not an unmask shard (bad magic; expected a file written by 'unmask data prepare')");
  if (header_->version != kShardVersion)
    throw Error(fmt::format("{}: shard format version {} is not supported (this unmask reads version {}); "
                            "prepare the data again",
                            name, header_->version, kShardVersion));
  if (header_->token_bytes != 2 && header_->token_bytes != 4)
    throw Error(fmt::format("{}: corrupt header: {} bytes per token (valid: 2, 4)", name, header_->token_bytes));
  if (header_->token_bytes == 2 && header_->vocab_size > 65536)
    throw Error(fmt::format("{}: corrupt header: vocab {} does not fit uint16 tokens", name, header_->vocab_size));
  const std::uint64_t expected = shard_file_size(header_->num_tokens, header_->num_docs, header_->token_bytes);
  if (header_->num_tokens > file_.size() || header_->num_docs > file_.size() || file_.size() != expected)
    throw Error(fmt::format("{}: truncated or corrupt shard: header implies {} bytes, file has {}", name, expected,
                            file_.size()));
  tokens_ = file_.data() + sizeof(ShardHeader);
  offsets_ = reinterpret_cast<const std::uint64_t*>(tokens_ + padded(header_->num_tokens * header_->token_bytes));
  if (offsets_[0] != 0 || offsets_[header_->num_docs] != header_->num_tokens)
    throw Error(name + ": corrupt document index (first offset must be 0, last the token count)");
  for (std::uint64_t d = 0; d < header_->num_docs; ++d)
    if (offsets_[d] > offsets_[d + 1]) throw Error(fmt::format("{}: corrupt document index at document {}", name, d));
}

void ShardReader::copy_tokens(std::uint64_t begin, std::uint64_t end, std::int64_t* out) const {
  if (header_->token_bytes == 2) {
    const auto* p = reinterpret_cast<const std::uint16_t*>(tokens_);
    for (std::uint64_t i = begin; i < end; ++i) *out++ = p[i];
  } else {
    const auto* p = reinterpret_cast<const std::uint32_t*>(tokens_);
    for (std::uint64_t i = begin; i < end; ++i) *out++ = p[i];
  }
}

void ShardReader::verify_tokens() const {
  for (std::uint64_t i = 0; i < header_->num_tokens; ++i)
    if (token(i) >= header_->vocab_size)
      throw Error(fmt::format("{}: token {} at position {} is outside the vocabulary (size {})", path_.string(),
                              token(i), i, header_->vocab_size));
}

}  // namespace unmask
