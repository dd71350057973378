// N-gram interning, the parallel loop and the max-over-references index that
// the BLEU protocols share (see ngram_index.h).
#include "ngram_index.h"

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>

#include "unmask/util/error.h"

namespace unmask::bleu_detail {
namespace {

constexpr std::uint64_t kEmpty = ~std::uint64_t{0};
constexpr std::uint32_t kNoPrefix = ~std::uint32_t{0};

std::uint64_t mix(std::uint64_t x) {  // splitmix64 finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

std::uint32_t NgramVocab::token_id(const std::string& token) {
  const auto [it, inserted] = tokens_.emplace(token, static_cast<std::uint32_t>(tokens_.size()));
  return it->second;
}

std::uint32_t NgramVocab::ngram_id(std::uint32_t prefix, std::uint32_t token, int order) {
  if (2 * (used_ + 1) > keys_.size()) {  // keep the load factor at most 1/2
    std::vector<std::uint64_t> old_keys(std::max<std::size_t>(1024, keys_.size() * 2), kEmpty);
    std::vector<std::uint32_t> old_values(old_keys.size());
    old_keys.swap(keys_);
    old_values.swap(values_);
    const std::size_t mask = keys_.size() - 1;
    for (std::size_t i = 0; i < old_keys.size(); ++i) {
      if (old_keys[i] == kEmpty) continue;
      std::size_t slot = mix(old_keys[i]) & mask;
      while (keys_[slot] != kEmpty) slot = (slot + 1) & mask;
      keys_[slot] = old_keys[i];
      values_[slot] = old_values[i];
    }
  }
  const std::uint64_t key = (static_cast<std::uint64_t>(prefix + 1) << 32) | token;  // kNoPrefix + 1 == 0
  const std::size_t mask = keys_.size() - 1;
  std::size_t slot = mix(key) & mask;
  while (keys_[slot] != kEmpty) {
    if (keys_[slot] == key) return values_[slot];
    slot = (slot + 1) & mask;
  }
  if (order_.size() >= kNoPrefix - 1) throw Error("too many distinct n-grams for BLEU (more than 2^32)");
  keys_[slot] = key;
  values_[slot] = static_cast<std::uint32_t>(order_.size());
  ++used_;
  order_.push_back(static_cast<std::uint8_t>(order));
  return values_[slot];
}

SegmentNgrams NgramVocab::add(const std::vector<std::string>& tokens) {
  SegmentNgrams seg;
  seg.length = static_cast<std::int64_t>(tokens.size());
  const std::size_t len = tokens.size();
  std::vector<std::uint32_t> ids(len), prefix(len, kNoPrefix), grams;
  grams.reserve(len * static_cast<std::size_t>(max_order_));
  for (std::size_t i = 0; i < len; ++i) ids[i] = token_id(tokens[i]);
  // prefix[i] holds the id of the (n-1)-gram starting at i; extend it by one token.
  for (std::size_t n = 1; n <= static_cast<std::size_t>(max_order_) && n <= len; ++n)
    for (std::size_t i = 0; i + n <= len; ++i) {
      prefix[i] = ngram_id(prefix[i], ids[i + n - 1], static_cast<int>(n));
      grams.push_back(prefix[i]);
    }
  std::sort(grams.begin(), grams.end());
  for (std::size_t i = 0; i < grams.size();) {
    std::size_t j = i;
    while (j < grams.size() && grams[j] == grams[i]) ++j;
    seg.counts.emplace_back(grams[i], static_cast<std::uint32_t>(j - i));
    i = j;
  }
  return seg;
}

std::vector<SegmentNgrams> intern_lines(const std::vector<std::string>& lines, BleuTokenizer tokenizer,
                                        NgramVocab& vocab, int threads) {
  constexpr std::size_t kChunk = 16384;  // lines tokenized at once: bounds the token memory
  std::vector<SegmentNgrams> out;
  out.reserve(lines.size());
  std::vector<std::vector<std::string>> tokens;
  for (std::size_t begin = 0; begin < lines.size(); begin += kChunk) {
    const std::size_t n = std::min(kChunk, lines.size() - begin);
    tokens.assign(n, {});
    parallel_for(n, threads, [&](std::size_t i) { tokens[i] = bleu_tokens(lines[begin + i], tokenizer); });
    for (const auto& t : tokens) out.push_back(vocab.add(t));
  }
  return out;
}

void parallel_for(std::size_t n, int threads, const std::function<void(std::size_t)>& body) {
  std::size_t workers = threads > 0 ? static_cast<std::size_t>(threads) : std::max(1u, std::thread::hardware_concurrency());
  workers = std::min(workers, std::max<std::size_t>(1, n / 64));  // small jobs stay on this thread
  if (workers <= 1) {
    for (std::size_t i = 0; i < n; ++i) body(i);
    return;
  }
  std::exception_ptr error;
  std::mutex error_mutex;
  std::vector<std::thread> pool;
  for (std::size_t w = 0; w < workers; ++w)
    pool.emplace_back([&, w] {
      try {
        for (std::size_t i = n * w / workers; i < n * (w + 1) / workers; ++i) body(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    });
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

ReferenceIndex::ReferenceIndex(const std::vector<SegmentNgrams>& refs, std::size_t vocab_size)
    : top1_(vocab_size, 0), top2_(vocab_size, 0), owner_(vocab_size, kNone) {
  lengths_.reserve(refs.size());
  for (std::size_t r = 0; r < refs.size(); ++r) {
    lengths_.push_back(refs[r].length);
    for (const auto& [id, count] : refs[r].counts) {
      if (count > top1_[id]) {
        top2_[id] = top1_[id];
        top1_[id] = count;
        owner_[id] = r;
      } else if (count > top2_[id]) {
        top2_[id] = count;
      }
    }
  }
  std::sort(lengths_.begin(), lengths_.end());
}

std::int64_t ReferenceIndex::closest_length(std::int64_t hyp_len, bool skip_own, std::int64_t own_len) const {
  const auto n = static_cast<std::ptrdiff_t>(lengths_.size());
  const std::ptrdiff_t first_ge = std::lower_bound(lengths_.begin(), lengths_.end(), hyp_len) - lengths_.begin();
  std::ptrdiff_t up = first_ge, down = first_ge - 1;
  bool skipped = false;  // leave out one reference of length own_len
  if (skip_own && up < n && lengths_[up] == own_len) {
    ++up;
    skipped = true;
  }
  if (skip_own && !skipped && down >= 0 && lengths_[down] == own_len) --down;
  if (up >= n && down < 0) throw Error("BLEU needs at least one reference per hypothesis");
  if (up >= n) return lengths_[down];
  if (down < 0) return lengths_[up];
  return hyp_len - lengths_[down] <= lengths_[up] - hyp_len ? lengths_[down] : lengths_[up];
}

std::vector<SegmentNgrams> intern_self_hypotheses(const std::vector<std::string>& hypotheses,
                                                  BleuTokenizer tokenizer, NgramVocab& vocab, int threads) {
  if (hypotheses.size() < 2)
    throw Error("self-BLEU needs at least 2 hypotheses (each is scored against the others), got " +
                std::to_string(hypotheses.size()));
  return intern_lines(hypotheses, tokenizer, vocab, threads);
}

}  // namespace unmask::bleu_detail
