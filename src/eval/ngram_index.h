// Private to the BLEU code: segments tokenized in parallel and interned into
// integer n-gram ids (an n-gram's id comes from its (n-1)-gram prefix id and
// its last token), so that clipping is array lookups; and the reference index
// the whole-set and self-BLEU protocols share.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "unmask/eval/bleu_tokenize.h"

namespace unmask::bleu_detail {

// One segment's n-grams: its length in tokens and the count of each distinct
// n-gram of order 1..max_order, sorted by n-gram id.
struct SegmentNgrams {
  std::int64_t length = 0;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> counts;  // (n-gram id, count)
};

class NgramVocab {
 public:
  explicit NgramVocab(int max_order) : max_order_(max_order) {}

  // Interns every n-gram of `tokens` (not thread-safe).
  SegmentNgrams add(const std::vector<std::string>& tokens);
  // Order (1-based) of an interned n-gram.
  int order(std::uint32_t id) const { return order_[id]; }
  std::size_t size() const { return order_.size(); }
  int max_order() const { return max_order_; }

 private:
  std::uint32_t token_id(const std::string& token);
  std::uint32_t ngram_id(std::uint32_t prefix, std::uint32_t token, int order);

  int max_order_;
  std::unordered_map<std::string, std::uint32_t> tokens_;
  // (prefix id + 1) << 32 | token id -> n-gram id, open addressing.
  std::vector<std::uint64_t> keys_;
  std::vector<std::uint32_t> values_;
  std::size_t used_ = 0;
  std::vector<std::uint8_t> order_;
};

// Tokenizes every line on `threads` threads and interns them in order.
std::vector<SegmentNgrams> intern_lines(const std::vector<std::string>& lines, BleuTokenizer tokenizer,
                                        NgramVocab& vocab, int threads);

// intern_lines for self-BLEU, where the hypotheses are also the references:
// an error unless there are at least two.
std::vector<SegmentNgrams> intern_self_hypotheses(const std::vector<std::string>& hypotheses,
                                                  BleuTokenizer tokenizer, NgramVocab& vocab, int threads);

// Runs body(i) for i in [0, n) on up to `threads` threads (0 = all cores),
// contiguous chunks; each i is handled exactly once.
void parallel_for(std::size_t n, int threads, const std::function<void(std::size_t)>& body);

// For every n-gram its highest count in any one reference, the reference that
// holds it, and the highest count in any other reference (Papineni et al.
// 2002 clipping with the max over references; the runner-up makes "all
// references but one" an O(1) lookup for self-BLEU). Plus the sorted lengths.
class ReferenceIndex {
 public:
  ReferenceIndex(const std::vector<SegmentNgrams>& refs, std::size_t vocab_size);

  // Max count of n-gram `id` over the references, skipping reference `skip`
  // (pass kNone to use all of them).
  std::uint32_t max_count(std::uint32_t id, std::size_t skip) const {
    if (id >= top1_.size()) return 0;
    return owner_[id] == skip ? top2_[id] : top1_[id];
  }
  // The reference length closest to hyp_len, ties to the shorter (sacrebleu
  // _get_closest_ref_len, NLTK closest_ref_length). With skip_own, one
  // reference of length own_len is left out (self-BLEU).
  std::int64_t closest_length(std::int64_t hyp_len, bool skip_own, std::int64_t own_len) const;
  std::size_t num_refs() const { return lengths_.size(); }

  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

 private:
  std::vector<std::uint32_t> top1_, top2_;
  std::vector<std::size_t> owner_;
  std::vector<std::int64_t> lengths_;  // sorted
};

}  // namespace unmask::bleu_detail
