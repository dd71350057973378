// Temperature / top-k / top-p filtering and float64 Gumbel-max draws.
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

at::Tensor gumbel_noise(at::IntArrayRef sizes, at::Generator& gen) {
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64).device(gen.device());
  // u ∈ (0, 1): the smallest double above 0 keeps −log(−log u) finite.
  const at::Tensor u = at::rand(sizes, gen, opts).clamp_min(std::numeric_limits<double>::min());
  return -torch::log(-torch::log(u));
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

at::Tensor TokenPicker::pick(const at::Tensor& logits, at::Generator& gen) const {
  if (options_.greedy) return logits.argmax(-1);
  const at::Tensor lp = log_probs(logits);
  return (lp + gumbel_noise(lp.sizes(), gen).to(lp.device())).argmax(-1);
}

}  // namespace unmask
