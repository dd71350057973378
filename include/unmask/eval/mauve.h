// MAUVE (Pillutla et al. 2021, "MAUVE: Measuring the Gap Between Neural Text
// and Human Text"; the mauve-text package, compute_mauve.py): how close the
// distribution of generated texts P is to that of reference texts Q. Each
// text becomes the final hidden state of its last token under a GPT-2
// (imported with `unmask import hf`, as mauve-text uses gpt2-large); the
// features are L2-normalised, reduced by PCA to 90 % of the variance, and
// quantised by k-means into n/10 clusters; MAUVE is the area under the
// divergence frontier of the two cluster histograms, exp(−c·KL) with c = 5.
#pragma once

#include <ATen/core/Tensor.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "unmask/run/run_model.h"

namespace unmask {

// (n, H) float64 on the CPU: the final hidden state (after ln_f) at the last
// token of each text, the texts encoded with the scorer's tokenizer (no BOS)
// and cut to `max_tokens`. Error unless the scorer's backbone is gpt2, or when
// a text encodes to nothing.
at::Tensor mauve_features(RunModel& scorer, const std::vector<std::string>& texts, std::int64_t max_tokens,
                          std::int64_t batch_size);

struct MauveOptions {
  std::int64_t buckets = 0;          // k-means clusters (0: max(2, round(min(n_p, n_q) / 10)))
  double explained_variance = 0.9;   // PCA keeps the fewest components reaching it
  std::int64_t kmeans_redo = 5;      // k-means runs from different starts, the lowest objective kept
  std::int64_t kmeans_iterations = 500;
  std::uint64_t seed = 25;
  std::int64_t curve_points = 25;    // mixture weights of the divergence frontier
  double scaling = 5;                // c in exp(−c·KL)
};

struct MauveResult {
  double mauve = 0, frontier_integral = 0;
  double mauve_star = 0, frontier_integral_star = 0;  // with Krichevsky–Trofimov smoothing (+0.5 per bucket)
  std::int64_t buckets = 0, pca_dims = 0;
  std::vector<double> p_hist, q_hist;
};

// p: (n_p, H) features of the generated texts, q: (n_q, H) of the references.
MauveResult compute_mauve(const at::Tensor& p, const at::Tensor& q, const MauveOptions& options);

// The JSON of `eval mauve` (docs/EVALUATION.md): the scores, buckets, PCA
// dimensions, counts and both histograms.
nlohmann::ordered_json mauve_report(const MauveResult& result, std::int64_t samples, std::int64_t references);

}  // namespace unmask
