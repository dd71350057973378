// The candidate intervals and the variance bookkeeping of BD3-LM's clipped
// schedule search (see clip_search.h).
#include "unmask/diffusion/clip_search.h"

#include <algorithm>
#include <limits>

#include "unmask/util/error.h"

namespace unmask {

std::vector<ClipRange> clip_candidates(double eps) {
  std::vector<ClipRange> out = {{eps, 1.0}};
  constexpr double kDelta = 0.05;  // bd3lms algo.clip_search_delta
  for (const double width : {0.5, 0.6, 0.7, 0.8, 0.9}) {
    // torch.arange(0, 1 − width + δ, δ): the starts i·δ below 1 − width + δ.
    for (int i = 0; i * kDelta < 1 - width + kDelta - 1e-9; ++i) {
      const double lo = i * kDelta;
      out.push_back({std::max(lo, eps), std::max(lo + width, eps)});
    }
  }
  return out;
}

ClipSearch::ClipSearch(std::vector<ClipRange> candidates)
    : candidates_(std::move(candidates)), sums_(candidates_.size(), 0.0) {
  if (candidates_.empty()) throw Error("clip search: no candidate intervals");
}

void ClipSearch::add(std::size_t candidate, const at::Tensor& block_losses) {
  if (block_losses.numel() < 2) return;  // a variance needs two values
  sums_.at(candidate) += block_losses.to(at::kDouble).var().item<double>();
}

ClipRange ClipSearch::best() const {
  const auto it = std::min_element(sums_.begin(), sums_.end());
  return candidates_[static_cast<std::size_t>(it - sums_.begin())];
}

}  // namespace unmask
