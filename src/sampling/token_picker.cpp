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

at::Tensor inverse_cdf(const at::Tensor& log_probs, const at::Tensor& u) {
  const at::Tensor cdf = log_probs.exp().cumsum(-1, torch::kFloat64);            // (R, V) non-decreasing
  const at::Tensor total = cdf.select(-1, cdf.size(-1) - 1);                      // (R)
  // u · total < total, so the search ends on a v whose mass is positive:
  // cdf[v] > target >= cdf[v - 1].
  const at::Tensor target = torch::minimum(u * total, torch::nextafter(total, torch::zeros_like(total)));  // (R)
  return torch::searchsorted(cdf, target.unsqueeze(-1), /*out_int32=*/false, /*right=*/true).squeeze(-1);
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
  const bool identity = options_.temperature == 1.0 && options_.top_k == 0 && options_.top_p >= 1.0;
  // Unfiltered rows need no renormalisation: the draw scales u by the row's mass.
  return inverse_cdf(identity ? lp : log_probs(lp), u);
}

}  // namespace unmask
