// BD3-LM's clipped noise schedules (Arriola et al. 2025, §4; kuleshov-group/
// bd3lms diffusion.py _clipped_schedule_search, metrics.py): training draws
// each block's mask rate from U[β, ω] instead of U[ε, 1]; with
// diffusion.clip_search, every validation pass estimates each block's loss
// under every candidate interval and training continues with the interval
// whose estimates vary least (the sum over validation batches of the
// variance of the per-block mean losses, as bd3lms computes it; the paper
// motivates it as the variance of the gradient estimate).
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <vector>

#include "unmask/diffusion/objective.h"

namespace unmask {

struct ClipRange {
  double lo = 1e-3, hi = 1.0;
};

// bd3lms' grid (metrics.py): [ε, 1], and for each width w in 0.5, 0.6, 0.7,
// 0.8, 0.9 the intervals [i, i + w] for i = 0, 0.05, … ≤ 1 − w, each end
// raised to at least ε. 36 intervals for ε = 1e-3.
std::vector<ClipRange> clip_candidates(double eps);

// An objective with a clipped time range (bd3lm).
class ClippedObjective {
 public:
  virtual ~ClippedObjective() = default;
  virtual ClipRange clip() const = 0;
  // The range `corrupt` draws from from now on (the search's choice).
  virtual void set_clip(ClipRange range) = 0;
  // The corruption with each block's t drawn from U[range.lo, range.hi).
  virtual Noised corrupt_in(const Batch& batch, ClipRange range, at::Generator& gen) const = 0;
  // (B, L/L′): each block's mean over its tokens of the weighted per-token
  // loss (0 at unmasked and padding tokens) for logits (B, L, V).
  virtual at::Tensor block_losses(const at::Tensor& logits, const Batch& batch, const Noised& noised) const = 0;
};

// Accumulates, per candidate, Σ over batches of the (unbiased) variance of a
// batch's per-block losses, and names the smallest.
class ClipSearch {
 public:
  explicit ClipSearch(std::vector<ClipRange> candidates);
  const std::vector<ClipRange>& candidates() const { return candidates_; }
  void add(std::size_t candidate, const at::Tensor& block_losses);
  ClipRange best() const;
  double variance(std::size_t candidate) const { return sums_.at(candidate); }

 private:
  std::vector<ClipRange> candidates_;
  std::vector<double> sums_;
};

}  // namespace unmask
