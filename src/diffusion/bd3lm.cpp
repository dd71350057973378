// BD3-LM (Arriola et al., ICLR 2025): block diffusion. A row of L tokens is
// L/L′ blocks; block b is diffused on its own, conditioned on the clean
// blocks before it, and the NELBO is the sum over blocks of MDLM's
// Rao-Blackwellised loss (BD3-LM Eq. 6–8):
//   L = Σ_b E_{t_b} [ w(t_b) · Σ_{l ∈ b masked} −log p_θ(x_l | x_t^b, x^{<b}) ],
// with w(t) = −α'(t)/(1 − α(t)) (1/t for the log-linear schedule). Each
// (row, block) has its own t, drawn stratified over all B·L/L′ of them
// (bd3lms diffusion.py _sample_t) from U[clip_min, clip_max] in training
// (BD3-LM §4, clipped schedules) and from U[ε, 1) for the bound. The logits
// come from one forward over x_t ⊕ x_0 (model/block_input.h). As MDLM's
// loss, the sum is divided by all real tokens. L′ = L is MDLM; L′ = 1 is AR.
#include <torch/torch.h>

#include "objectives.h"
#include "unmask/diffusion/clip_search.h"
#include "unmask/diffusion/masking.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

class Bd3lm : public Objective, public ClippedObjective {
 public:
  explicit Bd3lm(const ObjectiveContext& c)
      : config_(c.diffusion), special_(c.special), schedule_(make_schedule(c.diffusion, c.token_weights)),
        clip_{c.diffusion.clip_min, c.diffusion.clip_max} {
    if (config_.block_size < 1) throw Error("diffusion.objective=bd3lm needs diffusion.block_size >= 1");
    if (config_.T != 0) throw Error("diffusion.objective=bd3lm is continuous-time: set diffusion.T=0");
    if (schedule_->per_token()) throw Error("diffusion.objective=bd3lm needs a token-independent schedule");
  }

  std::string name() const override { return "bd3lm"; }
  const NoiseSchedule* schedule() const override { return schedule_.get(); }
  at::Tensor time_condition(const at::Tensor& t) const override {
    return schedule_->sigma(t.to(torch::kFloat64)).to(torch::kFloat32);
  }
  std::int64_t block_size() const override { return config_.block_size; }

  // Training: t per (row, block) from U[clip_min, clip_max] (or the search's choice).
  Noised corrupt(const Batch& batch, at::Generator& gen) const override { return corrupt_in(batch, clip_, gen); }
  Noised corrupt_in(const Batch& batch, ClipRange range, at::Generator& gen) const override {
    return corrupt_at(batch, block_times(batch, range.lo, range.hi, gen), gen);
  }
  ClipRange clip() const override { return clip_; }
  void set_clip(ClipRange range) override { clip_ = range; }
  // The bound: t per (row, block) from U[ε, 1), as MDLM's t per row.
  Noised corrupt_bound(const Batch& batch, at::Generator& gen) const override {
    return corrupt_at(batch, block_times(batch, config_.eps, 1.0, gen), gen);
  }

  // t: (B, L/L′) block times, or (B): one time for every block of a row.
  Noised corrupt_at(const Batch& batch, const at::Tensor& t, at::Generator& gen) const override {
    const at::Tensor& x0 = batch.tokens;
    const std::int64_t B = x0.size(0), blocks = num_blocks(x0.size(1));
    const at::Tensor tb = t.dim() == 1 ? t.unsqueeze(1).expand({B, blocks}).contiguous() : t;  // (B, nb)
    const at::Tensor keep = schedule_->alpha(per_token(tb));                                   // (B, L)
    auto [x_t, masked] = mask_tokens(x0, keep, batch.pad_mask, special_.mask, gen);
    Noised n{x_t, schedule_->sigma(tb.select(1, 0)).to(torch::kFloat32), tb, masked, {}};
    n.context = x0;  // the clean blocks each block is conditioned on
    n.block_size = config_.block_size;
    return n;
  }

  bool masked_rows_only() const override { return true; }

  LossOutput loss(const at::Tensor& logits, const Batch& batch, const Noised& n) const override {
    return loss_rows(logits.index({n.masked}), batch, n);  // (M, V)
  }

  LossOutput loss_rows(const at::Tensor& rows, const Batch& batch, const Noised& n) const override {
    const at::Tensor nelbo = masked_losses(rows, batch, n).sum();
    const at::Tensor tokens = batch.pad_mask.sum();
    return {nelbo / tokens.clamp_min(1), nelbo, tokens, nelbo.detach(), tokens};
  }

  at::Tensor block_losses(const at::Tensor& logits, const Batch& batch, const Noised& n) const override {
    at::Tensor per_token = torch::zeros(batch.tokens.sizes(), logits.options().dtype(torch::kFloat32));  // (B, L)
    per_token.index_put_({n.masked}, masked_losses(logits.index({n.masked}), batch, n));
    return per_token.view({per_token.size(0), -1, config_.block_size}).mean(2);  // (B, L/L′)
  }

 private:
  std::int64_t num_blocks(std::int64_t L) const {
    if (L % config_.block_size != 0)
      throw Error("diffusion.block_size (" + std::to_string(config_.block_size) + ") must divide the row length (" +
                  std::to_string(L) + ")");
    return L / config_.block_size;
  }
  // (B, nb) → (B, L): every token gets its block's value.
  at::Tensor per_token(const at::Tensor& tb) const { return tb.repeat_interleave(config_.block_size, 1); }

  // One t per (row, block), antithetic: stratified over all B·nb of them in
  // row-major order (bd3lms _sample_t), then scaled to [lo, hi).
  at::Tensor block_times(const Batch& batch, double lo, double hi, at::Generator& gen) const {
    const std::int64_t B = batch.tokens.size(0), blocks = num_blocks(batch.tokens.size(1));
    const at::Tensor u = sample_times(B * blocks, config_.antithetic, 0.0, gen, batch.tokens.device());  // [0, 1)
    return (lo + (hi - lo) * u).view({B, blocks});  // (B, nb) float64
  }

  // (M): w(t_b) · −log p_θ(x0) at the masked positions, row-major.
  at::Tensor masked_losses(const at::Tensor& rows, const Batch& batch, const Noised& n) const {
    const at::Tensor weight = schedule_->loss_weight(per_token(n.t));  // (B, L): each token its block's w(t)
    const at::Tensor nll = token_nll(log_probs_without_mask(rows, special_.mask),
                                     batch.tokens.index({n.masked}));  // (M)
    return weight.index({n.masked}).to(torch::kFloat32) * nll;
  }

  DiffusionConfig config_;
  SpecialTokens special_;
  std::unique_ptr<NoiseSchedule> schedule_;
  ClipRange clip_;
};

}  // namespace

std::unique_ptr<Objective> make_bd3lm(const ObjectiveContext& context) { return std::make_unique<Bd3lm>(context); }

}  // namespace unmask
