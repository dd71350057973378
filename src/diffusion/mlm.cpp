// Masked-LM objectives on the same backbone:
//   mlm (BERT, "one diffusion step"): each real token masked with probability
//     diffusion.mask_ratio (15 %), all replaced by [MASK];
//   roberta_diffusion (Nathan Barry's RoBERTa diffusion): one ratio per batch
//     drawn uniformly from {1.0, 0.9, …, 0.1}; the first diffusion.prompt_length
//     tokens of a row are never masked.
// Loss: cross-entropy over the full vocabulary, averaged over masked tokens
// (HF's MLM loss, labels −100 elsewhere). Not a likelihood bound.
#include <torch/torch.h>

#include "objectives.h"
#include "unmask/diffusion/masking.h"

namespace unmask {
namespace {

class MaskedLm : public Objective {
 public:
  MaskedLm(const ObjectiveContext& c, bool roberta) : config_(c.diffusion), special_(c.special), roberta_(roberta) {}

  std::string name() const override { return roberta_ ? "roberta_diffusion" : "mlm"; }

  Noised corrupt(const Batch& batch, at::Generator& gen) const override {
    const at::Tensor& x0 = batch.tokens;
    const auto B = x0.size(0), L = x0.size(1);
    double ratio = config_.mask_ratio;
    at::Tensor protect;
    if (roberta_) {
      const auto grid_index =
          at::randint(10, {1}, gen, torch::TensorOptions().dtype(torch::kLong).device(gen.device())).item<std::int64_t>();
      ratio = 1.0 - 0.1 * static_cast<double>(grid_index);  // {1.0, 0.9, …, 0.1}
      protect = (torch::arange(L, x0.options()) < config_.prompt_length).unsqueeze(0).expand({B, L});
    }
    const at::Tensor keep = torch::full({1, 1}, 1.0 - ratio, torch::TensorOptions().dtype(torch::kFloat64).device(x0.device()));
    auto [x_t, masked] = mask_tokens(x0, keep, batch.pad_mask, special_.mask, gen, protect);
    const auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(x0.device());
    return {x_t, torch::zeros({B}, opts), torch::full({B}, ratio, opts), masked, {}};
  }

  bool masked_rows_only() const override { return true; }

  LossOutput loss(const at::Tensor& logits, const Batch& batch, const Noised& n) const override {
    return loss_rows(logits.index({n.masked}), batch, n);  // (M, V)
  }

  // Only masked positions carry loss: normalise just those rows.
  LossOutput loss_rows(const at::Tensor& rows, const Batch& batch, const Noised& n) const override {
    const at::Tensor nll =
        token_nll(torch::log_softmax(rows.to(torch::kFloat32), -1), batch.tokens.index({n.masked}));  // (M)
    const at::Tensor sum = nll.sum();
    const at::Tensor masked = n.masked.sum();
    return {sum / masked.clamp_min(1), sum, masked, at::Tensor(), batch.pad_mask.sum()};
  }

 private:
  DiffusionConfig config_;
  SpecialTokens special_;
  bool roberta_;
};

}  // namespace

std::unique_ptr<Objective> make_mlm(const ObjectiveContext& context, bool roberta_diffusion) {
  return std::make_unique<MaskedLm>(context, roberta_diffusion);
}

}  // namespace unmask
