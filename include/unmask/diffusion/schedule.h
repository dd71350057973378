// Noise schedules of the absorbing (masking) forward process: α(t) is the
// probability that a token is still clean at time t ∈ [0, 1] (α(0) = 1,
// α(1) = 0); discrete time uses t = k/T, k ∈ {0..T}. Registered by name
// (`diffusion.schedule`). docs/BACKGROUND.md and docs/MODELS.md give the sources.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "unmask/config.h"

namespace unmask {

class NoiseSchedule {
 public:
  virtual ~NoiseSchedule() = default;
  virtual std::string name() const = 0;

  // α(t), elementwise, any shape.
  virtual at::Tensor alpha(const at::Tensor& t) const = 0;
  // −α'(t) / (1 − α(t)): the weight of the continuous-time NELBO (MDLM Eq. 10).
  virtual at::Tensor loss_weight(const at::Tensor& t) const = 0;
  // The inverse of α: t with α(t) = a, elementwise; undefined when the
  // schedule has no closed form (first_hitting then bisects).
  virtual at::Tensor time_at(const at::Tensor& /*a*/) const { return at::Tensor(); }
  // σ(t) = −log α(t), the noise level MDLM feeds its backbone.
  at::Tensor sigma(const at::Tensor& t) const;

  // Per-token keep probability for a batch: t (B), x0 (B, L) ids, pad_mask
  // (B, L) bool → (B, L). Token-independent schedules broadcast alpha(t).
  virtual at::Tensor token_alpha(const at::Tensor& t, const at::Tensor& x0, const at::Tensor& pad_mask) const;
  // Whether α depends on the tokens (spindle) and whether continuous t is allowed.
  virtual bool per_token() const { return false; }
  virtual bool discrete_only() const { return false; }
};

// Discrete-step weight (α_{k−1} − α_k)/(1 − α_k) from per-token keep
// probabilities at k−1 and k: the share of still-masked tokens that the exact
// reverse step unmasks (D3PM §3.2 with the x0-parameterisation).
at::Tensor discrete_step_weight(const at::Tensor& alpha_prev, const at::Tensor& alpha_t);

// `token_weights` (V) is used by the spindle schedule only (see spindle.h).
std::unique_ptr<NoiseSchedule> make_schedule(const DiffusionConfig& config, const at::Tensor& token_weights = {});
std::vector<std::string> schedule_names();

}  // namespace unmask
