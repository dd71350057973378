// Split opening with fingerprint checks, and pad/wrap row construction.
#include "unmask/data/dataset.h"

#include <fmt/format.h>

#include <algorithm>

#include "unmask/data/prepare.h"
#include "unmask/util/error.h"
#include "unmask/util/fs.h"
#include "unmask/util/hash.h"
#include "unmask/util/json_number.h"

namespace unmask {

RowMode parse_row_mode(const std::string& name) {
  if (name == "pad") return RowMode::Pad;
  if (name == "wrap") return RowMode::Wrap;
  throw Error("unknown data mode '" + name + "' (valid: pad, wrap)");
}

const char* row_mode_name(RowMode mode) { return mode == RowMode::Pad ? "pad" : "wrap"; }

ShardedSplit::ShardedSplit(const std::filesystem::path& data_dir, const std::string& split,
                           const std::string& tokenizer_fingerprint)
    : split_(split) {
  const auto meta_path = data_dir / kDataMeta;
  std::error_code ec;
  if (!std::filesystem::is_directory(data_dir, ec))
    throw Error("data directory not found: " + data_dir.string() + " (create it with 'unmask data prepare')");
  if (!std::filesystem::exists(meta_path, ec))
    throw Error(data_dir.string() + " is not a prepared data directory: " + kDataMeta + " is missing");
  nlohmann::json meta;
  std::vector<std::string> files;
  try {
    meta = nlohmann::json::parse(read_file(meta_path));
    fingerprint_ = meta.at("tokenizer").at("fingerprint").get<std::string>();
    const auto vocab = exact_integer<std::int64_t>(meta.at("tokenizer").at("vocab_size"));
    if (!vocab) throw Error(meta_path.string() + ": tokenizer.vocab_size is not an integer");
    vocab_size_ = *vocab;
    special_ = special_tokens_from_json(meta.at("tokenizer").at("special"));
    if (!meta.at("splits").is_object()) throw Error(meta_path.string() + ": 'splits' is not a JSON object");
  } catch (const nlohmann::json::exception& e) {
    throw Error(meta_path.string() + ": invalid or incomplete (" + e.what() + ")");
  }
  check_special_tokens(special_, vocab_size_, meta_path.string());
  const auto& splits = meta.at("splits");
  if (!splits.contains(split)) {
    std::vector<std::string> have;
    for (const auto& [k, v] : splits.items()) have.push_back(k);
    throw Error(fmt::format("{} has no '{}' split (it has: {})", data_dir.string(), split, fmt::join(have, ", ")));
  }
  try {
    files = splits.at(split).at("shards").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(meta_path.string() + ": invalid shard list for split '" + split + "'");
  }
  for (const auto& file : files)  // names inside the data directory, as `data prepare` writes them
    if (file.empty() || file == "." || file == ".." || file.find('/') != std::string::npos)
      throw Error(meta_path.string() + ": shard name '" + file + "' of split '" + split +
                  "' is not a file name inside " + data_dir.string());
  if (!tokenizer_fingerprint.empty() && tokenizer_fingerprint != fingerprint_)
    throw Error(fmt::format("tokenizer mismatch: the shards in {} were made with tokenizer {} but the tokenizer "
                            "given has fingerprint {} (use the tokenizer in {}/tokenizer or prepare again)",
                            data_dir.string(), fingerprint_.substr(0, 12), tokenizer_fingerprint.substr(0, 12),
                            data_dir.string()));
  const Digest expected = digest_from_hex(fingerprint_);
  for (const auto& file : files) {
    auto reader = std::make_unique<ShardReader>(data_dir / file);
    const auto& h = reader->header();
    if (!std::equal(expected.begin(), expected.end(), h.fingerprint))
      throw Error(fmt::format("{}: tokenizer fingerprint in the shard differs from {} (shards from another "
                              "preparation were mixed in)",
                              reader->path().string(), meta_path.string()));
    if (static_cast<std::int64_t>(h.vocab_size) != vocab_size_)
      throw Error(fmt::format("{}: vocab size {} differs from {} in {}", reader->path().string(), h.vocab_size,
                              vocab_size_, meta_path.string()));
    doc_prefix_.push_back(doc_prefix_.back() + reader->num_docs());
    token_prefix_.push_back(token_prefix_.back() + reader->num_tokens());
    shards_.push_back(std::move(reader));
  }
  if (num_docs() == 0) throw Error(fmt::format("split '{}' of {} is empty", split, data_dir.string()));
}

std::pair<std::size_t, std::uint64_t> ShardedSplit::locate_doc(std::uint64_t doc) const {
  if (doc >= num_docs()) throw Error(fmt::format("document {} out of range ({} documents)", doc, num_docs()));
  const auto it = std::upper_bound(doc_prefix_.begin(), doc_prefix_.end(), doc);
  const std::size_t s = static_cast<std::size_t>(it - doc_prefix_.begin()) - 1;
  return {s, doc - doc_prefix_[s]};
}

std::uint64_t ShardedSplit::doc_length(std::uint64_t doc) const {
  const auto [s, d] = locate_doc(doc);
  return shards_[s]->doc_end(d) - shards_[s]->doc_begin(d);
}

std::uint64_t ShardedSplit::copy_doc(std::uint64_t doc, std::uint64_t max_tokens, std::int64_t* out) const {
  const auto [s, d] = locate_doc(doc);
  const ShardReader& shard = *shards_[s];
  const std::uint64_t begin = shard.doc_begin(d);
  const std::uint64_t end = std::min(shard.doc_end(d), begin + max_tokens);
  shard.copy_tokens(begin, end, out);
  return end - begin;
}

void ShardedSplit::copy_stream(std::uint64_t begin, std::uint64_t n, std::int64_t* out) const {
  // Stream positions of shard s start at token_prefix_[s] + doc_prefix_[s].
  std::size_t s = 0;
  while (s + 1 < shards_.size() && token_prefix_[s + 1] + doc_prefix_[s + 1] <= begin) ++s;
  std::uint64_t pos = begin - (token_prefix_[s] + doc_prefix_[s]);  // within shard s's stream
  while (n > 0) {
    const ShardReader& shard = *shards_[s];
    // Document d of this shard occupies stream [offsets[d] + d, offsets[d+1] + d + 1).
    const std::uint64_t* off = shard.offsets();
    std::uint64_t lo = 0, hi = shard.num_docs();  // find last d with off[d] + d <= pos
    while (hi - lo > 1) {
      const std::uint64_t mid = (lo + hi) / 2;
      if (off[mid] + mid <= pos) lo = mid; else hi = mid;
    }
    for (std::uint64_t d = lo; d < shard.num_docs() && n > 0; ++d) {
      const std::uint64_t doc_start = off[d] + d;
      const std::uint64_t len = off[d + 1] - off[d];
      const std::uint64_t within = pos - doc_start;  // 0..len (len = the EOS)
      if (within < len) {
        const std::uint64_t take = std::min(n, len - within);
        shard.copy_tokens(off[d] + within, off[d] + within + take, out);
        out += take;
        n -= take;
        pos += take;
      }
      if (n > 0 && pos == doc_start + len) {
        *out++ = special_.eos;
        --n;
        ++pos;
      }
    }
    ++s;
    pos = 0;
    if (n > 0 && s >= shards_.size()) throw Error("stream read past the end of the split");
  }
}

RowSource::RowSource(const ShardedSplit& split, RowMode mode, std::int64_t length, bool pad_loss)
    : split_(split), mode_(mode), length_(length), pad_loss_(pad_loss) {
  if (length < 3) throw Error(fmt::format("data.length must be at least 3 (BOS, a token, EOS), got {}", length));
  if (mode == RowMode::Pad) {
    num_rows_ = split.num_docs();
  } else {
    num_rows_ = split.stream_length() / static_cast<std::uint64_t>(length - 2);
    if (num_rows_ == 0)
      throw Error(fmt::format("split '{}' has {} tokens, fewer than one row of length {} in wrap mode",
                              split.split(), split.stream_length(), length));
  }
}

void RowSource::row(std::uint64_t index, std::int64_t* tokens, bool* mask) const {
  const auto body = static_cast<std::uint64_t>(length_ - 2);
  const SpecialTokens& sp = split_.special();
  tokens[0] = sp.bos;
  std::uint64_t n = body;
  if (mode_ == RowMode::Pad) {
    n = split_.copy_doc(index, body, tokens + 1);
  } else {
    split_.copy_stream(index * body, body, tokens + 1);
  }
  tokens[n + 1] = sp.eos;
  const auto real = static_cast<std::int64_t>(n + 2);
  for (std::int64_t i = 0; i < length_; ++i) {
    if (i >= real) tokens[i] = sp.pad;
    mask[i] = pad_loss_ || i < real;
  }
}

}  // namespace unmask
