// Entropy, distinct-n and seq-rep-4 of token-id samples (see text_stats.h).
// N-grams are compared exactly: sorted and counted, one order at a time.
#include "unmask/eval/text_stats.h"

#include <algorithm>
#include <cmath>

namespace unmask {
namespace {

using Ngram = std::array<std::int64_t, kTextStatsMaxOrder>;  // unused tail slots stay 0

// Appends the n-grams of order n of `ids` to `out`.
void append_ngrams(const std::vector<std::int64_t>& ids, int n, std::vector<Ngram>& out) {
  const auto len = static_cast<std::ptrdiff_t>(ids.size());
  for (std::ptrdiff_t i = 0; i + n <= len; ++i) {
    Ngram g{};
    for (int k = 0; k < n; ++k) g[static_cast<std::size_t>(k)] = ids[static_cast<std::size_t>(i + k)];
    out.push_back(g);
  }
}

std::int64_t count_unique(std::vector<Ngram>& grams) {
  std::sort(grams.begin(), grams.end());
  return static_cast<std::int64_t>(std::unique(grams.begin(), grams.end()) - grams.begin());
}

}  // namespace

double SampleTextStats::distinct(int n) const {
  const auto k = static_cast<std::size_t>(n - 1);
  return total[k] > 0 ? static_cast<double>(unique[k]) / static_cast<double>(total[k]) : 0.0;
}

SampleTextStats sample_text_stats(const std::vector<std::int64_t>& ids) {
  SampleTextStats s;
  s.tokens = static_cast<std::int64_t>(ids.size());
  std::vector<Ngram> grams;
  for (int n = 1; n <= kTextStatsMaxOrder; ++n) {
    grams.clear();
    append_ngrams(ids, n, grams);
    const auto k = static_cast<std::size_t>(n - 1);
    s.total[k] = static_cast<std::int64_t>(grams.size());
    if (n == 1) {  // entropy from the unigram counts (runs of equal ids once sorted)
      std::sort(grams.begin(), grams.end());
      for (std::size_t i = 0; i < grams.size();) {
        std::size_t j = i;
        while (j < grams.size() && grams[j] == grams[i]) ++j;
        const double p = static_cast<double>(j - i) / static_cast<double>(grams.size());
        s.entropy -= p * std::log(p);
        i = j;
      }
    }
    s.unique[k] = count_unique(grams);
  }
  return s;
}

TextStats text_stats(const std::vector<std::vector<std::int64_t>>& samples) {
  TextStats t;
  t.samples = static_cast<std::int64_t>(samples.size());
  std::array<std::int64_t, kTextStatsMaxOrder> with_ngrams{};
  double entropy_sum = 0, rep4_sum = 0;
  std::array<double, kTextStatsMaxOrder> distinct_sum{};
  for (const auto& ids : samples) {
    t.per_sample.push_back(sample_text_stats(ids));
    const SampleTextStats& s = t.per_sample.back();
    t.tokens += s.tokens;
    entropy_sum += s.entropy;
    for (std::size_t k = 0; k < kTextStatsMaxOrder; ++k)
      if (s.total[k] > 0) {
        ++with_ngrams[k];
        distinct_sum[k] += s.distinct(static_cast<int>(k + 1));
      }
    if (s.total[3] > 0) rep4_sum += s.rep4();
  }
  if (t.samples > 0) t.mean_entropy = entropy_sum / static_cast<double>(t.samples);
  for (std::size_t k = 0; k < kTextStatsMaxOrder; ++k)
    if (with_ngrams[k] > 0) t.mean_distinct[k] = distinct_sum[k] / static_cast<double>(with_ngrams[k]);
  if (with_ngrams[3] > 0) t.mean_rep4 = rep4_sum / static_cast<double>(with_ngrams[3]);
  // Corpus-level distinct-n: one order at a time to bound memory.
  std::vector<Ngram> grams;
  for (int n = 1; n <= kTextStatsMaxOrder; ++n) {
    grams.clear();
    for (const auto& ids : samples) append_ngrams(ids, n, grams);
    if (grams.empty()) continue;
    const double total = static_cast<double>(grams.size());
    t.corpus_distinct[static_cast<std::size_t>(n - 1)] = static_cast<double>(count_unique(grams)) / total;
  }
  return t;
}

}  // namespace unmask
