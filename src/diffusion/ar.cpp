// Autoregressive baseline on the same transformer: causal attention and
// next-token cross-entropy on every real target position (MDLM's AR setting:
// inputs x[:, :-1], targets x[:, 1:]). [MASK] never occurs in the data, so
// its logit is set to −∞ before the softmax, as MDLM's AR backbone does
// (models/autoregressive.py: output[:, :, mask_index] = −1e6, then
// log_softmax). Its NLL is exact, not a bound.
#include <torch/torch.h>

#include "objectives.h"
#include "unmask/diffusion/masking.h"

namespace unmask {
namespace {

class Autoregressive : public Objective {
 public:
  explicit Autoregressive(const ObjectiveContext& c) : mask_(c.special.mask) {}
  std::string name() const override { return "ar"; }

  Noised corrupt(const Batch& batch, at::Generator&) const override {
    const at::Tensor& x0 = batch.tokens;
    return {x0, torch::zeros({x0.size(0)}, x0.options().dtype(torch::kFloat32)), at::Tensor(),
            torch::zeros_like(x0, torch::kBool), {}};
  }

  LossOutput loss(const at::Tensor& logits, const Batch& batch, const Noised&) const override {
    const auto L = batch.tokens.size(1);
    const at::Tensor lp = log_probs_without_mask(logits.narrow(1, 0, L - 1), mask_);  // (B, L−1, V)
    const at::Tensor nll = token_nll(lp, batch.tokens.narrow(1, 1, L - 1));                          // (B, L−1)
    const at::Tensor real = batch.pad_mask.narrow(1, 1, L - 1);
    const at::Tensor total = (real.to(torch::kFloat32) * nll).sum();
    const at::Tensor tokens = real.sum();
    return {total / tokens.clamp_min(1), total, tokens, total.detach(), tokens};
  }

 private:
  std::int64_t mask_;
};

}  // namespace

std::unique_ptr<Objective> make_ar(const ObjectiveContext& context) { return std::make_unique<Autoregressive>(context); }

}  // namespace unmask
