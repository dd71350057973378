// The DiffusionBERT protocol (compute_metric.py, compute_quality_in_unconditional_gen
// and self_bleu_for_unconditional_generation): each hypothesis scored by NLTK
// corpus_bleu([references], [hypothesis]) (nltk/translate/bleu_score.py), then
// the plain mean. The references are indexed once for all hypotheses.
#include <cfloat>
#include <cmath>

#include "ngram_index.h"
#include "unmask/eval/bleu.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

using bleu_detail::NgramVocab;
using bleu_detail::ReferenceIndex;
using bleu_detail::SegmentNgrams;

// Python's math.fsum (Shewchuk's exact partials with CPython's final
// round-half-even correction), so the log-sum rounds as NLTK's does.
double fsum(const std::vector<double>& values) {
  std::vector<double> partials;
  for (double x : values) {
    std::size_t i = 0;
    for (double y : partials) {
      if (std::fabs(x) < std::fabs(y)) std::swap(x, y);
      const double hi = x + y;
      const double lo = y - (hi - x);
      if (lo != 0.0) partials[i++] = lo;
      x = hi;
    }
    partials.resize(i);
    partials.push_back(x);
  }
  double hi = 0.0;
  std::size_t n = partials.size();
  if (n > 0) {
    hi = partials[--n];
    double lo = 0.0;
    while (n > 0) {
      const double x = hi, y = partials[--n];
      hi = x + y;
      lo = y - (hi - x);
      if (lo != 0.0) break;
    }
    if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
      const double y = lo * 2, x = hi + y;
      if (y == x - hi) hi = x;
    }
  }
  return hi;
}

struct SentenceResult {
  double bleu = 0, bp = 0;
  std::int64_t hyp_len = 0, ref_len = 0;
  std::vector<std::int64_t> counts, totals;
};

// NLTK corpus_bleu([refs], [hyp]), weights 1/N, smoothing method0.
SentenceResult nltk_sentence(const SegmentNgrams& hyp, const NgramVocab& vocab, const ReferenceIndex& index,
                             std::size_t skip, int max_order) {
  SentenceResult r;
  const auto order = static_cast<std::size_t>(max_order);
  r.counts.assign(order, 0);
  r.totals.assign(order, 0);
  for (const auto& [id, count] : hyp.counts) {  // modified_precision: clip by the max over references
    const auto n = static_cast<std::size_t>(vocab.order(id) - 1);
    r.totals[n] += count;
    r.counts[n] += std::min<std::int64_t>(count, index.max_count(id, skip));
  }
  r.hyp_len = hyp.length;
  r.ref_len = index.closest_length(hyp.length, skip != ReferenceIndex::kNone, hyp.length);
  // brevity_penalty(closest_ref_len, hyp_len)
  if (r.hyp_len > r.ref_len) r.bp = 1.0;
  else if (r.hyp_len == 0) r.bp = 0.0;
  else r.bp = std::exp(1.0 - static_cast<double>(r.ref_len) / static_cast<double>(r.hyp_len));
  if (r.counts[0] == 0) return r;  // no unigram match: NLTK returns 0
  // method0: a zero numerator becomes sys.float_info.min; the denominator is max(1, total).
  std::vector<double> terms;
  const double weight = 1.0 / static_cast<double>(order);
  for (std::size_t n = 0; n < order; ++n) {
    const double p = r.counts[n] == 0 ? DBL_MIN
                                      : static_cast<double>(r.counts[n]) /
                                            static_cast<double>(std::max<std::int64_t>(1, r.totals[n]));
    terms.push_back(weight * std::log(p));
  }
  r.bleu = r.bp * std::exp(fsum(terms));
  return r;
}

// Scores every hypothesis against the index and averages as DiffusionBERT does.
BleuScore mean_over(const std::vector<SegmentNgrams>& hyps, const NgramVocab& vocab, const ReferenceIndex& index,
                    bool self, const BleuOptions& o) {
  std::vector<SentenceResult> results(hyps.size());
  bleu_detail::parallel_for(hyps.size(), o.threads, [&](std::size_t i) {
    results[i] = nltk_sentence(hyps[i], vocab, index, self ? i : ReferenceIndex::kNone, o.max_order);
  });
  const auto order = static_cast<std::size_t>(o.max_order);
  BleuScore s;
  s.counts.assign(order, 0);
  s.totals.assign(order, 0);
  s.precisions.assign(order, 0.0);
  double sum = 0.0, bp_sum = 0.0;
  for (const auto& r : results) {  // in hypothesis order: the same float sums as the Python loop
    sum += r.bleu;
    bp_sum += r.bp;
    s.sentence_scores.push_back(r.bleu);
    s.sys_len += r.hyp_len;
    s.ref_len += r.ref_len;
    for (std::size_t n = 0; n < order; ++n) {
      s.counts[n] += r.counts[n];
      s.totals[n] += r.totals[n];
      s.precisions[n] += 100.0 * static_cast<double>(r.counts[n]) / static_cast<double>(std::max<std::int64_t>(1, r.totals[n]));
    }
  }
  const auto count = static_cast<double>(results.size());
  for (auto& p : s.precisions) p /= count;
  s.bp = bp_sum / count;
  s.score = 100.0 * (sum / count);
  return s;
}

void check(const BleuOptions& o) {
  if (o.max_order < 1 || o.max_order > 255)
    throw Error("BLEU max order must be in 1..255, got " + std::to_string(o.max_order));
}

}  // namespace

BleuScore diffusionbert_bleu(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references,
                             const BleuOptions& o) {
  check(o);
  if (hypotheses.empty()) throw Error("BLEU needs at least one hypothesis");
  if (references.empty()) throw Error("the diffusionbert BLEU protocol needs at least one reference line");
  NgramVocab vocab(o.max_order);
  const auto refs = bleu_detail::intern_lines(references, o.tokenizer, vocab, o.threads);
  const auto hyps = bleu_detail::intern_lines(hypotheses, o.tokenizer, vocab, o.threads);
  const ReferenceIndex index(refs, vocab.size());
  return mean_over(hyps, vocab, index, false, o);
}

BleuScore diffusionbert_self_bleu(const std::vector<std::string>& hypotheses, const BleuOptions& o) {
  check(o);
  NgramVocab vocab(o.max_order);
  const auto hyps = bleu_detail::intern_self_hypotheses(hypotheses, o.tokenizer, vocab, o.threads);
  const ReferenceIndex index(hyps, vocab.size());
  return mean_over(hyps, vocab, index, true, o);
}

}  // namespace unmask
