// Token picking from logits: temperature, top-k, top-p (nucleus), greedy, and
// categorical draws by the Gumbel-max trick with float64 noise. Float32 Gumbel
// noise is truncated near 16.6 and silently lowers temperature and diversity
// (Zheng et al. 2024, arXiv 2409.02908, Table 2); float64 does not.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

namespace unmask {

struct PickerOptions {
  double temperature = 1.0;
  std::int64_t top_k = 0;  // 0 = off
  double top_p = 1.0;      // 1 = off
  bool greedy = false;
};

class TokenPicker {
 public:
  explicit TokenPicker(PickerOptions options);
  // Log-probabilities after temperature, top-k and top-p: (N, V) float64,
  // −inf outside the kept support.
  at::Tensor log_probs(const at::Tensor& logits) const;
  // One id per row of `logits` (N, V) → (N) int64; noise from `gen`.
  at::Tensor pick(const at::Tensor& logits, at::Generator& gen) const;
  const PickerOptions& options() const { return options_; }

 private:
  PickerOptions options_;
};

// Standard Gumbel noise in float64, shape `sizes`, drawn on the generator's device.
at::Tensor gumbel_noise(at::IntArrayRef sizes, at::Generator& gen);

}  // namespace unmask
