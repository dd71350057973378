// Temperature / top-k / top-p filtering and float64 inverse-CDF draws.
#include "unmask/sampling/token_picker.h"

#include <torch/torch.h>

#include <limits>

#include "unmask/util/error.h"

namespace unmask {

TokenPicker::TokenPicker(PickerOptions options) : options_(options) {
  if (!(options_.temperature > 0)) throw Error("temperature must be positive");
  if (options_.top_k < 0) throw Error("top-k must be >= 0 (0 = off)");
  if (!(options_.top_p > 0 && options_.top_p <= 1)) throw Error("top-p must be in (0, 1]");
}

namespace {

// The first v with cdf[v] > u · cdf[last] for cumulative masses cdf (R, K)
// float64 → (R, 1). Since u · total < total the search ends on a v of
// positive mass: cdf[v] > target >= cdf[v − 1].
at::Tensor search(const at::Tensor& cdf, const at::Tensor& target_unclamped) {
  const at::Tensor total = cdf.narrow(-1, cdf.size(-1) - 1, 1);  // (R, 1)
  const at::Tensor target = torch::minimum(target_unclamped, torch::nextafter(total, torch::zeros_like(total)));
  return torch::searchsorted(cdf, target, /*out_int32=*/false, /*right=*/true);
}

constexpr std::int64_t kBlock = 64;  // tokens per block of the two-level search

}  // namespace

// Two levels, so that the float64 work is on V/64 block masses and one block
// of 64 per row, not on V cumulative sums: the block is drawn by its mass,
// then the token inside it by the remainder of the same uniform. Exact in
// float64 like a single cumulative sum, at about a third of its memory traffic.
at::Tensor inverse_cdf(const at::Tensor& log_probs, const at::Tensor& u) {
  const std::int64_t R = log_probs.size(0), V = log_probs.size(-1);
  const at::Tensor p = log_probs.exp();  // (R, V)
  if (V < 4 * kBlock) return search(p.cumsum(-1, torch::kFloat64), u.unsqueeze(-1) * p.sum(-1, true, torch::kFloat64)).squeeze(-1);
  const std::int64_t full = V / kBlock, body = full * kBlock;
  at::Tensor mass = p.narrow(-1, 0, body).view({R, full, kBlock}).sum(-1, false, torch::kFloat64);  // (R, nb)
  if (body < V) mass = torch::cat({mass, p.narrow(-1, body, V - body).sum(-1, true, torch::kFloat64)}, -1);
  const at::Tensor cum = mass.cumsum(-1);                                                  // (R, nb)
  const at::Tensor target = u.unsqueeze(-1) * cum.narrow(-1, cum.size(-1) - 1, 1);          // (R, 1)
  const at::Tensor block = search(cum, target);                                            // (R, 1)
  const at::Tensor before = torch::where(block > 0, cum.gather(-1, (block - 1).clamp_min(0)), 0.0);  // (R, 1)
  const at::Tensor index = block * kBlock + torch::arange(kBlock, block.options());        // (R, 64)
  const at::Tensor inside = index < V;
  const at::Tensor w = p.gather(-1, index.clamp_max(V - 1)).to(torch::kFloat64).masked_fill(inside.logical_not(), 0.0);
  const at::Tensor j = search(w.cumsum(-1), target - before);                              // (R, 1)
  return (block * kBlock + j).squeeze(-1);
}

at::Tensor TokenPicker::log_probs(const at::Tensor& logits) const {
  at::Tensor lp = torch::log_softmax(logits.to(torch::kFloat64) / options_.temperature, -1);  // (N, V)
  const double ninf = -std::numeric_limits<double>::infinity();
  if (options_.top_k > 0 && options_.top_k < lp.size(-1)) {
    const at::Tensor kth = std::get<0>(lp.topk(options_.top_k, -1)).narrow(-1, options_.top_k - 1, 1);  // (N, 1)
    lp = lp.masked_fill(lp < kth, ninf);
  }
  if (options_.top_p < 1) {
    // Keep the smallest set of most likely tokens whose mass reaches top_p.
    const auto [sorted, order] = lp.sort(-1, true);
    const at::Tensor mass_before = sorted.exp().cumsum(-1) - sorted.exp();  // mass of strictly better tokens
    const at::Tensor drop_sorted = mass_before >= options_.top_p;
    lp = lp.masked_fill(torch::zeros_like(drop_sorted).scatter(-1, order, drop_sorted), ninf);
  }
  return lp - torch::logsumexp(lp, -1, true);
}

at::Tensor TokenPicker::draw(const at::Tensor& lp, const at::Tensor& u) const {
  if (options_.greedy) return lp.argmax(-1);
  // Unfiltered rows need no renormalisation: the draw scales u by the row's mass.
  return inverse_cdf(identity() ? lp : log_probs(lp), u);
}

}  // namespace unmask
