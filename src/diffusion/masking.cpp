// Time sampling, absorbing corruption and zero-masked log-probabilities.
#include "unmask/diffusion/masking.h"

#include <torch/torch.h>

#include <algorithm>
#include <limits>

namespace unmask {

// Random numbers are drawn on the generator's device and then moved: a CPU
// generator gives the same corruption whatever device the model is on.
at::Tensor sample_times(std::int64_t n, bool antithetic, double eps, at::Generator& gen, const at::Device& device) {
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64).device(gen.device());
  at::Tensor u = at::rand({n}, gen, opts);  // (n)
  if (antithetic) u = (u + torch::arange(n, opts)) / static_cast<double>(n);
  return ((1 - eps) * u + eps).to(device);
}

std::pair<at::Tensor, at::Tensor> mask_tokens(const at::Tensor& x0, const at::Tensor& keep, const at::Tensor& pad_mask,
                                              std::int64_t mask_id, at::Generator& gen, const at::Tensor& protect) {
  const at::Tensor u =
      at::rand(x0.sizes(), gen, torch::TensorOptions().dtype(torch::kFloat64).device(gen.device())).to(x0.device());
  at::Tensor masked = u >= keep.to(torch::kFloat64);  // (B, L): P(masked) = 1 − keep
  if (pad_mask.defined()) masked = masked.logical_and(pad_mask);
  if (protect.defined()) masked = masked.logical_and(protect.logical_not());
  return {x0.masked_fill(masked, mask_id), masked};
}

at::Tensor log_probs_without_mask(const at::Tensor& logits, std::int64_t mask_id) {
  at::Tensor l = logits.to(torch::kFloat32);
  // The [MASK] column selected on the device (no host-to-device copy per call).
  const at::Tensor is_mask = torch::arange(l.size(-1), l.options().dtype(torch::kLong)) == mask_id;  // (V)
  l = l.masked_fill(is_mask, -std::numeric_limits<float>::infinity());
  return torch::log_softmax(l, -1);
}

at::Tensor log_probs_without_mask_consuming(at::Tensor&& logits, std::int64_t mask_id) {
  at::Tensor l = logits.to(torch::kFloat32);  // (B, L, V): a copy of bf16 logits, the same tensor for float32
  logits = at::Tensor();                      // the bf16 logits go now (the caller passed its only reference)
  if (!l.is_contiguous()) l = l.contiguous();
  l.select(-1, mask_id).fill_(-std::numeric_limits<float>::infinity());
  const std::int64_t V = l.size(-1);
  at::Tensor rows = l.view({-1, V});           // (B·L, V)
  const std::int64_t n = rows.size(0), chunk = std::max<std::int64_t>(1, (n + 7) / 8);
  for (std::int64_t begin = 0; begin < n; begin += chunk) {
    at::Tensor part = rows.narrow(0, begin, std::min(chunk, n - begin));
    part.copy_(torch::log_softmax(part, -1));  // the kernel is per row: the values of a whole-tensor call
  }
  return l;
}

at::Tensor token_nll(const at::Tensor& log_probs, const at::Tensor& x0) {
  return -log_probs.gather(-1, x0.unsqueeze(-1)).squeeze(-1);
}

}  // namespace unmask
