// The sacrebleu protocol: segment statistics, corpus sums, smoothing and the
// brevity penalty exactly as sacrebleu 2.x computes them (metrics/bleu.py:
// compute_bleu, _compute_segment_statistics, _get_closest_ref_len).
#include "unmask/eval/bleu.h"

#include <algorithm>
#include <cmath>

#include "ngram_index.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

using bleu_detail::NgramVocab;
using bleu_detail::ReferenceIndex;
using bleu_detail::SegmentNgrams;

// sacrebleu utils.my_log: log floored to -9999999999 at 0.
double floored_log(double x) { return x == 0.0 ? -9999999999.0 : std::log(x); }

void check_options(const BleuOptions& o) {
  if (o.max_order < 1 || o.max_order > 255)
    throw Error("BLEU max order must be in 1..255, got " + std::to_string(o.max_order));
}

// Per-segment sufficient statistics: [hyp_len, ref_len, counts..., totals...].
struct SegmentStats {
  std::int64_t hyp_len = 0, ref_len = 0;
  std::vector<std::int64_t> counts, totals;
};

// Adds one hypothesis's n-gram counts, clipped by ref_max(id, position in hyp.counts).
template <class RefMax>
void count_matches(const SegmentNgrams& hyp, const NgramVocab& vocab, RefMax ref_max, SegmentStats& s) {
  for (std::size_t k = 0; k < hyp.counts.size(); ++k) {
    const auto [id, count] = hyp.counts[k];
    const auto n = static_cast<std::size_t>(vocab.order(id) - 1);
    s.totals[n] += count;
    s.counts[n] += std::min<std::int64_t>(count, ref_max(id, k));
  }
}

BleuScore sum_and_score(const std::vector<SegmentStats>& stats, const BleuOptions& o) {
  std::vector<std::int64_t> counts(static_cast<std::size_t>(o.max_order), 0), totals = counts;
  std::int64_t sys_len = 0, ref_len = 0;
  for (const auto& s : stats) {
    sys_len += s.hyp_len;
    ref_len += s.ref_len;
    for (std::size_t n = 0; n < counts.size(); ++n) {
      counts[n] += s.counts[n];
      totals[n] += s.totals[n];
    }
  }
  return compute_bleu(counts, totals, sys_len, ref_len, o);
}

SegmentStats empty_stats(const BleuOptions& o) {
  SegmentStats s;
  s.counts.assign(static_cast<std::size_t>(o.max_order), 0);
  s.totals = s.counts;
  return s;
}

}  // namespace

BleuProtocol parse_bleu_protocol(const std::string& name) {
  if (name == "sacrebleu") return BleuProtocol::kSacrebleu;
  if (name == "diffusionbert") return BleuProtocol::kDiffusionBert;
  throw Error("unknown BLEU protocol '" + name + "' (valid: sacrebleu, diffusionbert)");
}

const char* bleu_protocol_name(BleuProtocol protocol) {
  return protocol == BleuProtocol::kSacrebleu ? "sacrebleu" : "diffusionbert";
}

BleuSmooth parse_bleu_smooth(const std::string& name) {
  if (name == "exp") return BleuSmooth::kExp;
  if (name == "floor") return BleuSmooth::kFloor;
  if (name == "add-k") return BleuSmooth::kAddK;
  if (name == "none") return BleuSmooth::kNone;
  throw Error("unknown BLEU smoothing '" + name + "' (valid: exp, floor, add-k, none)");
}

const char* bleu_smooth_name(BleuSmooth smooth) {
  switch (smooth) {
    case BleuSmooth::kExp: return "exp";
    case BleuSmooth::kFloor: return "floor";
    case BleuSmooth::kAddK: return "add-k";
    case BleuSmooth::kNone: return "none";
  }
  return "?";
}

double default_smooth_value(BleuSmooth smooth) {  // BLEU.SMOOTH_DEFAULTS (Chen & Cherry 2014)
  return smooth == BleuSmooth::kFloor ? 0.1 : smooth == BleuSmooth::kAddK ? 1.0 : 0.0;
}

BleuScore compute_bleu(const std::vector<std::int64_t>& counts, const std::vector<std::int64_t>& totals,
                       std::int64_t sys_len, std::int64_t ref_len, const BleuOptions& o) {
  check_options(o);
  const auto order = static_cast<std::size_t>(o.max_order);
  if (counts.size() != order || totals.size() != order)
    throw Error("BLEU statistics need " + std::to_string(order) + " counts and totals");
  const double k = o.smooth_value < 0 ? default_smooth_value(o.smooth) : o.smooth_value;
  BleuScore r;
  r.counts = counts;
  r.totals = totals;
  r.sys_len = sys_len;
  r.ref_len = ref_len;
  r.precisions.assign(order, 0.0);
  // Brevity penalty (Papineni et al. 2002, §2.2.2): exp(1 - r/c) when c < r.
  r.bp = 1.0;
  if (sys_len < ref_len) r.bp = sys_len > 0 ? std::exp(1.0 - static_cast<double>(ref_len) / static_cast<double>(sys_len)) : 0.0;
  if (std::all_of(counts.begin(), counts.end(), [](std::int64_t c) { return c == 0; })) return r;  // sacrebleu #141

  double smooth_mteval = 1.0;
  std::size_t eff_order = order;
  for (std::size_t n = 0; n < order; ++n) {
    double correct = static_cast<double>(counts[n]), total = static_cast<double>(totals[n]);
    if (o.smooth == BleuSmooth::kAddK && n > 0) {  // Chen & Cherry method 2 (Lin & Och 2004)
      correct += k;
      total += k;
    }
    if (total == 0) break;
    if (o.effective_order) eff_order = n + 1;
    if (correct == 0) {
      if (o.smooth == BleuSmooth::kExp) {  // method 3 (NIST): 1/2^k for the k-th zero precision
        smooth_mteval *= 2;
        r.precisions[n] = 100.0 / (smooth_mteval * total);
      } else if (o.smooth == BleuSmooth::kFloor) {  // method 1: epsilon counts
        r.precisions[n] = 100.0 * k / total;
      }
    } else {
      r.precisions[n] = 100.0 * correct / total;
    }
  }
  // Geometric mean of the precisions (uniform weights) times the brevity penalty.
  double log_sum = 0.0;
  for (std::size_t n = 0; n < eff_order; ++n) log_sum += floored_log(r.precisions[n]);
  r.score = r.bp * std::exp(log_sum / static_cast<double>(eff_order));
  return r;
}

BleuScore corpus_bleu(const std::vector<std::string>& hypotheses,
                      const std::vector<std::vector<std::string>>& ref_streams, const BleuOptions& o) {
  check_options(o);
  if (hypotheses.empty()) throw Error("BLEU needs at least one hypothesis");
  if (ref_streams.empty()) throw Error("BLEU needs at least one reference stream");
  for (std::size_t k = 0; k < ref_streams.size(); ++k)
    if (ref_streams[k].size() != hypotheses.size())
      throw Error("reference stream " + std::to_string(k + 1) + " has " + std::to_string(ref_streams[k].size()) +
                  " lines but there are " + std::to_string(hypotheses.size()) +
                  " hypotheses (the sacrebleu protocol needs one reference line per hypothesis in every stream)");
  NgramVocab vocab(o.max_order);
  const auto hyps = bleu_detail::intern_lines(hypotheses, o.tokenizer, vocab, o.threads);
  std::vector<std::vector<SegmentNgrams>> refs;
  for (const auto& stream : ref_streams) refs.push_back(bleu_detail::intern_lines(stream, o.tokenizer, vocab, o.threads));

  std::vector<SegmentStats> stats(hyps.size(), empty_stats(o));
  bleu_detail::parallel_for(hyps.size(), o.threads, [&](std::size_t i) {
    const SegmentNgrams& hyp = hyps[i];
    // Max count of each hypothesis n-gram over this segment's references:
    // both lists are sorted by id, so one merge per reference.
    std::vector<std::uint32_t> ref_max(hyp.counts.size(), 0);
    std::int64_t closest = -1;
    for (const auto& stream : refs) {
      const SegmentNgrams& ref = stream[i];
      std::size_t j = 0;
      for (std::size_t k = 0; k < hyp.counts.size(); ++k) {
        while (j < ref.counts.size() && ref.counts[j].first < hyp.counts[k].first) ++j;
        if (j < ref.counts.size() && ref.counts[j].first == hyp.counts[k].first)
          ref_max[k] = std::max(ref_max[k], ref.counts[j].second);
      }
      // Closest reference length, ties to the shorter (_get_closest_ref_len).
      const std::int64_t diff = std::abs(hyp.length - ref.length);
      if (closest < 0 || diff < std::abs(hyp.length - closest) ||
          (diff == std::abs(hyp.length - closest) && ref.length < closest))
        closest = ref.length;
    }
    SegmentStats& s = stats[i];
    s.hyp_len = hyp.length;
    s.ref_len = closest;
    count_matches(hyp, vocab, [&](std::uint32_t, std::size_t k) { return ref_max[k]; }, s);
  });
  return sum_and_score(stats, o);
}

BleuScore sentence_bleu(const std::string& hypothesis, const std::vector<std::string>& references,
                        const BleuOptions& options) {
  std::vector<std::vector<std::string>> streams;
  for (const auto& ref : references) streams.push_back({ref});
  return corpus_bleu({hypothesis}, streams, options);
}

BleuScore sentence_bleu(const std::string& hypothesis, const std::vector<std::string>& references) {
  BleuOptions o;
  o.effective_order = true;  // sacrebleu.sentence_bleu(use_effective_order=True)
  return sentence_bleu(hypothesis, references, o);
}

BleuScore sacrebleu_self_bleu(const std::vector<std::string>& hypotheses, const BleuOptions& o) {
  check_options(o);
  NgramVocab vocab(o.max_order);
  const auto hyps = bleu_detail::intern_self_hypotheses(hypotheses, o.tokenizer, vocab, o.threads);
  const ReferenceIndex index(hyps, vocab.size());
  std::vector<SegmentStats> stats(hyps.size(), empty_stats(o));
  bleu_detail::parallel_for(hyps.size(), o.threads, [&](std::size_t i) {
    SegmentStats& s = stats[i];
    s.hyp_len = hyps[i].length;
    s.ref_len = index.closest_length(hyps[i].length, true, hyps[i].length);
    count_matches(hyps[i], vocab, [&](std::uint32_t id, std::size_t) { return index.max_count(id, i); }, s);
  });
  return sum_and_score(stats, o);
}

}  // namespace unmask
