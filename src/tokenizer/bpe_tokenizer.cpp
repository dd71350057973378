// Byte-level BPE as HF `tokenizers` runs it (bpe_tokenizer.h): the pipeline
// of tokenizer/mod.rs encode (added tokens, pre-tokenizer, model) with the
// ByteLevel pre-tokenizer (pre_tokenizers/byte_level.rs), Split
// (pre_tokenizers/split.rs), BPE (models/bpe/word.rs merge_all: the
// lowest-ranked pair first, the leftmost among equals) and the ByteLevel
// decoder (decoders/byte_level.rs).
#include "unmask/tokenizer/bpe_tokenizer.h"

#include <utf8.h>

#include <array>
#include <iterator>
#include <mutex>
#include <queue>
#include <unordered_map>

#include "bpe_config.h"
#include "byte_level.h"
#include "regex_split.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

std::uint64_t pair_key(int a, int b) { return (static_cast<std::uint64_t>(a) << 32) | static_cast<std::uint32_t>(b); }

// Words (pieces after pre-tokenization) → ids, shared by all threads: 64
// shards, each behind its own lock, each emptied when it reaches its cap.
class WordCache {
 public:
  bool get(const std::string& word, std::size_t hash, std::vector<int>& ids) {
    Shard& s = shards_[hash % kShards];
    std::lock_guard<std::mutex> lock(s.mutex);
    const auto it = s.words.find(word);
    if (it == s.words.end()) return false;
    ids.insert(ids.end(), it->second.begin(), it->second.end());
    return true;
  }
  void put(std::string word, std::size_t hash, std::vector<int> value) {
    Shard& s = shards_[hash % kShards];
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.words.size() >= kPerShard) s.words.clear();
    s.words.emplace(std::move(word), std::move(value));
  }

 private:
  static constexpr std::size_t kShards = 64, kPerShard = 8192;
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<int>> words;
  };
  std::array<Shard, kShards> shards_;
};

}  // namespace

struct BpeTokenizer::Impl {
  BpeConfig config;
  std::array<int, 256> byte_id{};                                      // id of each byte's character, -1: none
  std::unordered_map<std::uint64_t, std::pair<int, int>> merge_rank;  // (left, right) -> (rank, merged id)
  std::vector<std::unique_ptr<RegexSplitter>> regex;                   // per pre-tokenizer step (null: none)
  std::vector<std::string> id_to_token;                                // model and added tokens ("" = none)
  std::vector<bool> special_id;
  mutable WordCache cache;

  // BPE on one word's bytes (models/bpe/model.rs merge_word + word.rs merge_all).
  void merge_word(std::string_view word, std::vector<int>& out) const {
    if (config.ignore_merges) {
      std::string mapped;
      for (unsigned char b : word) mapped += byte_level::byte_to_utf8()[b];
      const auto it = config.vocab.find(mapped);
      if (it != config.vocab.end()) {
        out.push_back(it->second);
        return;
      }
    }
    struct Symbol {
      int id, prev, next;
      bool alive;
    };
    std::vector<Symbol> sym;
    sym.reserve(word.size());
    bool last_unk = false;
    for (unsigned char b : word) {
      int id = byte_id[b];
      if (id < 0) {  // a byte outside the vocabulary: unk (fused when asked), or dropped
        if (config.unk_id < 0 || (config.fuse_unk && last_unk)) continue;
        id = config.unk_id;
      }
      last_unk = byte_id[b] < 0;
      const int i = static_cast<int>(sym.size());
      sym.push_back({id, i - 1, i + 1, true});
    }
    if (sym.empty()) return;
    sym.back().next = -1;
    struct Candidate {
      int rank, pos, merged;
      bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
    auto consider = [&](int pos) {
      if (pos < 0 || sym[static_cast<std::size_t>(pos)].next < 0) return;
      const auto it = merge_rank.find(pair_key(sym[static_cast<std::size_t>(pos)].id,
                                               sym[static_cast<std::size_t>(sym[static_cast<std::size_t>(pos)].next)].id));
      if (it != merge_rank.end()) queue.push({it->second.first, pos, it->second.second});
    };
    for (int i = 0; i + 1 < static_cast<int>(sym.size()); ++i) consider(i);
    while (!queue.empty()) {
      const Candidate top = queue.top();
      queue.pop();
      Symbol& left = sym[static_cast<std::size_t>(top.pos)];
      if (!left.alive || left.next < 0) continue;
      Symbol& right = sym[static_cast<std::size_t>(left.next)];
      const auto it = merge_rank.find(pair_key(left.id, right.id));
      if (it == merge_rank.end() || it->second.second != top.merged) continue;  // a stale candidate
      left.id = top.merged;
      right.alive = false;
      left.next = right.next;
      if (left.next >= 0) sym[static_cast<std::size_t>(left.next)].prev = top.pos;
      consider(left.prev);
      consider(top.pos);
    }
    for (const auto& s : sym)
      if (s.alive) out.push_back(s.id);
  }

  void encode_word(std::string_view word, std::vector<int>& out) const {
    if (word.size() > 256) return merge_word(word, out);  // HF caches words shorter than this too
    std::string key(word);
    const std::size_t hash = std::hash<std::string>{}(key);
    if (cache.get(key, hash, out)) return;
    const std::size_t before = out.size();
    merge_word(word, out);
    cache.put(std::move(key), hash, std::vector<int>(out.begin() + static_cast<std::ptrdiff_t>(before), out.end()));
  }

  // Pre-tokenizer step `step` on one piece, then the next steps, then BPE.
  void pre_tokenize(std::string_view piece, std::size_t step, std::vector<int>& out) const {
    if (step == config.pre.size()) return encode_word(piece, out);
    const PreTokenizeStep& s = config.pre[step];
    std::string prefixed;
    if (s.add_prefix_space && (piece.empty() || piece.front() != ' ')) {
      prefixed = " " + std::string(piece);
      piece = prefixed;
    }
    if (!regex[step]) return pre_tokenize(piece, step + 1, out);
    regex[step]->split(piece, [&](std::string_view sub) { pre_tokenize(sub, step + 1, out); });
  }
};

BpeTokenizer::BpeTokenizer(const std::string& json, const std::string& where, const std::filesystem::path& dir,
                           const std::string& fingerprint)
    : impl_(std::make_unique<Impl>()), json_(json) {
  dir_ = dir;
  fingerprint_ = fingerprint;
  Impl& m = *impl_;
  m.config = parse_bpe_config(json, where);
  const BpeConfig& c = m.config;
  for (int b = 0; b < 256; ++b) {
    const auto it = c.vocab.find(byte_level::byte_to_utf8()[static_cast<std::size_t>(b)]);
    m.byte_id[static_cast<std::size_t>(b)] = it == c.vocab.end() ? -1 : it->second;
  }
  for (std::size_t rank = 0; rank < c.merges.size(); ++rank)  // the first of a repeated merge counts
    m.merge_rank.emplace(pair_key(c.merges[rank].left, c.merges[rank].right),
                         std::pair<int, int>(static_cast<int>(rank), c.merges[rank].merged));
  for (const auto& s : c.pre)
    m.regex.push_back(s.pattern.empty() ? nullptr : std::make_unique<RegexSplitter>(s.pattern, s.literal, where));
  std::size_t size = c.tokens.size();
  for (const auto& a : c.added) size = std::max(size, static_cast<std::size_t>(a.id) + 1);
  m.id_to_token.assign(size, "");
  m.special_id.assign(size, false);
  std::copy(c.tokens.begin(), c.tokens.end(), m.id_to_token.begin());
  for (const auto& a : c.added) {
    m.id_to_token[static_cast<std::size_t>(a.id)] = a.content;
    m.special_id[static_cast<std::size_t>(a.id)] = a.special;
  }
  special_ = c.special;
  check_special_tokens(special_, vocab_size(), where);
}

BpeTokenizer::~BpeTokenizer() = default;

std::vector<int> BpeTokenizer::encode(const std::string& text) const {
  const Impl& m = *impl_;
  std::string fixed;  // invalid UTF-8 (never from the corpus readers) becomes U+FFFD first
  if (!utf8::is_valid(text.begin(), text.end())) utf8::replace_invalid(text.begin(), text.end(), std::back_inserter(fixed));
  const std::string_view s = fixed.empty() ? std::string_view(text) : std::string_view(fixed);
  std::vector<int> ids;
  ids.reserve(s.size() / 3);
  for (const auto& piece : split_added_tokens(s, m.config.added)) {
    if (piece.id >= 0) ids.push_back(piece.id);
    else m.pre_tokenize(s.substr(piece.begin, piece.end - piece.begin), 0, ids);
  }
  return ids;
}

std::string BpeTokenizer::decode(const std::vector<int>& ids) const {
  const Impl& m = *impl_;
  std::string bytes;
  bool first = true;
  for (int id : ids) {
    if (id < 0 || id >= static_cast<int>(m.id_to_token.size()))
      throw Error("token id " + std::to_string(id) + " is outside the vocabulary (size " +
                  std::to_string(m.id_to_token.size()) + ")");
    const std::string& token = m.id_to_token[static_cast<std::size_t>(id)];
    if (m.special_id[static_cast<std::size_t>(id)] || token.empty()) continue;
    if (!m.config.byte_level_decoder) {
      bytes += (first ? "" : " ") + token;
    } else if (!byte_level::token_bytes(token, bytes)) {
      bytes += token;  // a character outside the alphabet: the token's own UTF-8
    }
    first = false;
  }
  return m.config.byte_level_decoder ? byte_level::utf8_lossy(bytes) : bytes;
}

int BpeTokenizer::vocab_size() const { return static_cast<int>(impl_->id_to_token.size()); }

std::string BpeTokenizer::piece(int id) const {
  if (id < 0 || id >= vocab_size()) throw Error("token id " + std::to_string(id) + " is outside the vocabulary");
  return impl_->id_to_token[static_cast<std::size_t>(id)];
}

}  // namespace unmask
