// MDLM (Sahoo et al. 2024): SUBS parameterisation and the Rao-Blackwellised
// continuous-time NELBO (Eq. 10)
//   L = E_t [ (−α'_t / (1 − α_t)) · Σ_{l masked} −log p_θ(x_l | x_t) ],
// with antithetic t ∈ [ε, 1); for log-linear the weight is 1/t. With
// diffusion.T > 0, t = k/T and the weight is T·(α_{k−1} − α_k)/(1 − α_k)
// (MDLM's discrete-time SUBS loss). The per-token loss divides by all real
// tokens, masked or not, as MDLM's _loss does.
#include <torch/torch.h>

#include "objectives.h"
#include "unmask/diffusion/masking.h"

namespace unmask {
namespace {

class Mdlm : public Objective {
 public:
  explicit Mdlm(const ObjectiveContext& c)
      : config_(c.diffusion), special_(c.special), schedule_(make_schedule(c.diffusion, c.token_weights)) {}

  std::string name() const override { return "mdlm"; }
  const NoiseSchedule* schedule() const override { return schedule_.get(); }
  at::Tensor time_condition(const at::Tensor& t) const override {
    return schedule_->sigma(t.to(torch::kFloat64)).to(torch::kFloat32);
  }

  Noised corrupt(const Batch& batch, at::Generator& gen) const override {
    const at::Tensor& x0 = batch.tokens;
    at::Tensor t = sample_times(x0.size(0), config_.antithetic, config_.eps, gen, x0.device());  // (B) float64
    if (config_.T > 0) t = (torch::floor(t * config_.T) + 1).clamp_max(config_.T) / config_.T;  // k/T, k ∈ 1..T
    return corrupt_at(batch, t, gen);
  }

  Noised corrupt_at(const Batch& batch, const at::Tensor& t, at::Generator& gen) const override {
    const at::Tensor& x0 = batch.tokens;
    const at::Tensor keep = schedule_->token_alpha(t, x0, batch.pad_mask);  // (B, L)
    auto [x_t, masked] = mask_tokens(x0, keep, batch.pad_mask, special_.mask, gen);
    return {x_t, schedule_->sigma(t).to(torch::kFloat32), t, masked, {}};
  }

  bool masked_rows_only() const override { return true; }

  LossOutput loss(const at::Tensor& logits, const Batch& batch, const Noised& n) const override {
    return loss_rows(logits.index({n.masked}), batch, n);  // (M, V)
  }

  LossOutput loss_rows(const at::Tensor& rows, const Batch& batch, const Noised& n) const override {
    at::Tensor weight;  // (B)
    if (config_.T > 0) {
      const DiscreteStep step = discrete_step(n, config_.T);
      weight = step.nelbo_scale * discrete_step_weight(schedule_->alpha(step.prev), schedule_->alpha(n.t));
    } else {
      weight = schedule_->loss_weight(n.t);
    }
    // SUBS carry-over: unmasked positions contribute neither loss nor gradient,
    // so only the masked rows of the logits are normalised.
    const at::Tensor where = n.masked.nonzero();                          // (M, 2)
    const at::Tensor nll = token_nll(log_probs_without_mask(rows, special_.mask),
                                     batch.tokens.index({n.masked}));   // (M)
    const at::Tensor w = weight.index_select(0, where.select(1, 0)).to(torch::kFloat32);
    const at::Tensor nelbo = (w * nll).sum();
    const at::Tensor tokens = batch.pad_mask.sum();
    return {nelbo / tokens.clamp_min(1), nelbo, tokens, nelbo.detach(), tokens};
  }

 private:
  DiffusionConfig config_;
  SpecialTokens special_;
  std::unique_ptr<NoiseSchedule> schedule_;
};

}  // namespace

std::unique_ptr<Objective> make_mdlm(const ObjectiveContext& context) { return std::make_unique<Mdlm>(context); }

}  // namespace unmask
