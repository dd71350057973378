// Token picking from logits: temperature, top-k, top-p (nucleus), greedy, and
// exact categorical draws by inverting the float64 cumulative distribution
// with one float64 uniform per row (from the samplers' counter-based streams,
// counter_rng.h). Float32 Gumbel-max noise is truncated near 16.6 and silently
// lowers temperature and diversity (Zheng et al. 2024, arXiv 2409.02908,
// Table 2). The float64 inverse CDF resolves probabilities down to 2^-53 of
// the row's mass, as float64 Gumbel noise (at most about 36.7) does, and needs
// one random number per row instead of V.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace unmask {

// How a categorical draw turns random numbers into a token.
//  exact:    the float64 inverse CDF, one uniform per row (the default);
//  gumbel64: Gumbel-max over the row with V float64 uniforms, MDLM's
//            `_sample_categorical` in float64 (the same distribution as exact);
//  gumbel32: the same in float32, as the Python stacks ran it before Zheng et
//            al.: -log(u) ≥ 2^-24 caps the noise near 16.6, so an outcome more
//            than e^16.6 less likely than the best one is never drawn. Kept
//            to reproduce that effect (docs/RESULTS.md), not for use.
enum class Draw { exact, gumbel64, gumbel32 };
Draw parse_draw(const std::string& name);  // "exact" | "gumbel64" | "gumbel32", else an Error listing them

struct PickerOptions {
  double temperature = 1.0;
  std::int64_t top_k = 0;  // 0 = off
  double top_p = 1.0;      // 1 = off
  bool greedy = false;
  Draw draw = Draw::exact;
};

class TokenPicker {
 public:
  explicit TokenPicker(PickerOptions options);
  // Log-probabilities after temperature, top-k and top-p: (N, V) float64,
  // −inf outside the kept support.
  at::Tensor log_probs(const at::Tensor& logits) const;
  // One id per row of log-probabilities (R, V) (up to a per-row constant that
  // keeps them <= 0, e.g. a reverse step's joint) → (R) int64, given (R)
  // float64 uniforms in [0, 1); greedy: the argmax.
  at::Tensor draw(const at::Tensor& log_probs, const at::Tensor& u) const;
  // The same for log-probabilities already filtered by log_probs().
  at::Tensor draw_filtered(const at::Tensor& filtered, const at::Tensor& u) const;
  const PickerOptions& options() const { return options_; }
  // Temperature 1, no top-k, no top-p: log_probs would only renormalise.
  bool identity() const { return options_.temperature == 1.0 && options_.top_k == 0 && options_.top_p >= 1.0; }
  // Bytes of temporaries per element of the rows (R, V) a draw may hold at
  // once (an upper bound; the samplers size their chunks of rows by it):
  // the float64 filtering (temperature, top-k, top-p: copies, a sort and its
  // order, cumulative masses) or the float32 probabilities of a plain draw.
  std::int64_t bytes_per_element() const;

 private:
  PickerOptions options_;
};

// The inverse-CDF draw: for log-probabilities (R, V) (normalised or not; −inf
// = outside the support) and uniforms u (R) in [0, 1), the first v whose float64
// cumulative mass exceeds u · total → (R) int64. Never a token of zero mass.
// On the CPU (V ≥ 256) one pass per row; elsewhere inverse_cdf_ops.
at::Tensor inverse_cdf(const at::Tensor& log_probs, const at::Tensor& u);
// The same ids by tensor operations on the rows' device (what CUDA runs;
// tested bitwise against the CPU pass).
at::Tensor inverse_cdf_ops(const at::Tensor& log_probs, const at::Tensor& u);

// Its first level: probabilities (R, V) → (R, ⌈V/64⌉) float64 masses of the
// blocks of 64 tokens (the last block may be shorter).
at::Tensor block_masses(const at::Tensor& p);

}  // namespace unmask
