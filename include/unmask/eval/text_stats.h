// Diversity statistics of generated token ids, reported beside gen-PPL:
// unigram entropy (Zheng et al. 2024, arXiv 2409.02908, §5; MDLM gen-PPL
// tables), distinct-n (Li et al. 2016, NAACL) and seq-rep-4 (Welleck et al.
// 2020, "Neural Text Generation with Unlikelihood Training", §5).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace unmask {

inline constexpr int kTextStatsMaxOrder = 4;  // distinct-1 .. distinct-4

struct SampleTextStats {
  std::int64_t tokens = 0;
  double entropy = 0;  // nats: -Σ_v p_v log p_v, p_v = count of id v / tokens (0 for an empty sample)
  std::array<std::int64_t, kTextStatsMaxOrder> unique{};  // distinct n-grams, index n-1
  std::array<std::int64_t, kTextStatsMaxOrder> total{};   // n-grams (tokens - n + 1, at least 0)

  // unique / total n-grams of order n in 1..4; 0 when the sample has none.
  double distinct(int n) const;
  // seq-rep-4 = 1 - distinct-4: the share of repeated 4-grams; 0 when none.
  double rep4() const { return total[3] > 0 ? 1.0 - distinct(4) : 0.0; }
};

struct TextStats {
  std::int64_t samples = 0;
  std::int64_t tokens = 0;
  double mean_entropy = 0;  // mean of the per-sample entropies
  // Mean of per-sample distinct-n over the samples that have an n-gram of order n.
  std::array<double, kTextStatsMaxOrder> mean_distinct{};
  double mean_rep4 = 0;     // mean seq-rep-4 over the samples that have a 4-gram
  // Corpus-level distinct-n (Li et al.): distinct n-grams over all samples / all n-grams.
  std::array<double, kTextStatsMaxOrder> corpus_distinct{};
  std::vector<SampleTextStats> per_sample;
};

SampleTextStats sample_text_stats(const std::vector<std::int64_t>& ids);
TextStats text_stats(const std::vector<std::vector<std::int64_t>>& samples);

}  // namespace unmask
