// D3PM absorbing (Austin et al. 2021) and DiffusionBERT (He et al. 2023):
// discrete t = k ∈ {1..T}, x0-parameterisation, hybrid loss (D3PM Eq. 5)
//   L_λ = L_vb + λ·CE(x0 | x_t),  λ = diffusion.hybrid_lambda (0.01).
// For the absorbing process the KL at step k is
//   L_k = Σ_{i masked} w_k^i · −log p_θ(x0_i | x_t),  w_k^i = (α_{k−1}^i − α_k^i)/(1 − α_k^i)
// (= 1/k for α_k = 1 − k/T); the prior term is 0 since α_T = 0. Training uses
// the single sampled step, as both reference codes do; the NELBO estimate of
// the whole sum is T·L_k. With `Noised::t_prev` the weight is that of a
// coarser step k → k − s, (α_{k−s}^i − α_k^i)/(1 − α_k^i), and the term is
// returned as it is (DiffusionBERT compute_elbo.py's eval_step_size chain).
// The CE term covers every real token, as in
// DiffusionBERT's compute_kl_reverse_process. DiffusionBERT is this loss with
// the spindle schedule (per-token α); the backbone sees k−1 ∈ 0..T−1.
#include <torch/torch.h>

#include "objectives.h"
#include "unmask/diffusion/masking.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

class D3pm : public Objective {
 public:
  D3pm(const ObjectiveContext& c, bool diffusionbert)
      : config_(c.diffusion), special_(c.special), diffusionbert_(diffusionbert),
        schedule_(make_schedule(c.diffusion, c.token_weights)) {
    if (config_.T < 1) throw Error("diffusion.objective=" + name() + " is discrete-time: set diffusion.T >= 1");
    if (diffusionbert_ && !schedule_->per_token())
      throw Error("diffusion.objective=diffusionbert uses the spindle schedule (diffusion.schedule=spindle)");
  }

  std::string name() const override { return diffusionbert_ ? "diffusionbert" : "d3pm"; }
  const NoiseSchedule* schedule() const override { return schedule_.get(); }
  at::Tensor time_condition(const at::Tensor& t) const override {  // step k − 1 for t = k/T
    return (torch::ceil(t.to(torch::kFloat64) * config_.T - 1e-9) - 1).clamp(0, config_.T - 1).to(torch::kFloat32);
  }

  Noised corrupt(const Batch& batch, at::Generator& gen) const override {
    const at::Tensor& x0 = batch.tokens;
    const at::Tensor u = sample_times(x0.size(0), config_.antithetic, 0.0, gen, x0.device());  // [0, 1)
    const at::Tensor k = (torch::floor(u * config_.T) + 1).clamp_max(config_.T);              // (B) in 1..T
    return corrupt_at(batch, k / config_.T, gen);
  }

  Noised corrupt_at(const Batch& batch, const at::Tensor& t, at::Generator& gen) const override {
    const at::Tensor& x0 = batch.tokens;
    auto [x_t, masked] = mask_tokens(x0, schedule_->token_alpha(t, x0, batch.pad_mask), batch.pad_mask,
                                     special_.mask, gen);
    return {x_t, time_condition(t), t, masked, {}};
  }

  // The CE term of the hybrid loss reads every real position; without it the
  // weight is zero wherever nothing was masked.
  bool masked_rows_only() const override { return config_.hybrid_lambda == 0; }

  LossOutput loss_rows(const at::Tensor& rows, const Batch& batch, const Noised& n) const override {
    if (!masked_rows_only()) return Objective::loss_rows(rows, batch, n);
    const at::Tensor& x0 = batch.tokens;
    const at::Tensor nll = token_nll(log_probs_without_mask(rows, special_.mask), x0.index({n.masked}));  // (M)
    const DiscreteStep step = discrete_step(n, config_.T);
    const at::Tensor w = discrete_step_weight(schedule_->token_alpha(step.prev, x0, batch.pad_mask),
                                              schedule_->token_alpha(n.t, x0, batch.pad_mask))
                             .index({n.masked})
                             .to(torch::kFloat32);  // (M)
    const at::Tensor vb = (w * nll).sum();
    const at::Tensor tokens = batch.pad_mask.sum();
    return {vb / tokens.clamp_min(1), vb, tokens, (step.nelbo_scale * vb).detach(), tokens};
  }

  LossOutput loss(const at::Tensor& logits, const Batch& batch, const Noised& n) const override {
    const at::Tensor& x0 = batch.tokens;
    const at::Tensor nll = token_nll(log_probs_without_mask(logits, special_.mask), x0);  // (B, L)
    const at::Tensor a_t = schedule_->token_alpha(n.t, x0, batch.pad_mask);
    const DiscreteStep step = discrete_step(n, config_.T);
    const at::Tensor a_prev = schedule_->token_alpha(step.prev, x0, batch.pad_mask);
    // Zero the weight where nothing was masked before it meets the NLL (1 − α may be 0 there).
    const at::Tensor w = torch::where(n.masked, discrete_step_weight(a_prev, a_t), 0.0).to(torch::kFloat32);
    const at::Tensor real = batch.pad_mask.to(torch::kFloat32);
    const at::Tensor vb = (w * nll).sum();
    const at::Tensor ce = (real * nll).sum();
    const at::Tensor tokens = batch.pad_mask.sum();
    const at::Tensor sum = vb + config_.hybrid_lambda * ce;
    return {sum / tokens.clamp_min(1), sum, tokens, (step.nelbo_scale * vb).detach(), tokens};
  }

 private:
  DiffusionConfig config_;
  SpecialTokens special_;
  bool diffusionbert_;
  std::unique_ptr<NoiseSchedule> schedule_;
};

}  // namespace

std::unique_ptr<Objective> make_d3pm(const ObjectiveContext& context, bool diffusionbert) {
  return std::make_unique<D3pm>(context, diffusionbert);
}

}  // namespace unmask
