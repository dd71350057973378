// FusedAdamW::step (see fused_adamw.h). Per group, the parameters with a
// gradient are bucketed by device and dtype (the fused kernel takes one of
// each) and updated in one call. No host synchronisation: the step counts are
// kept on the host (the state's int) and on the device (their tensors) alike.
#include "unmask/train/fused_adamw.h"

#include <ATen/ops/_fused_adamw.h>
#include <ATen/ops/_foreach_add.h>
#include <torch/torch.h>

#include <vector>

namespace unmask {
namespace {

struct Bucket {
  c10::Device device;
  at::ScalarType dtype;
  std::vector<at::Tensor> params, grads, exp_avgs, exp_avg_sqs, steps;
};

}  // namespace

torch::Tensor FusedAdamW::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
    TORCH_CHECK(!o.amsgrad(), "FusedAdamW: amsgrad is not supported");
    std::vector<Bucket> buckets;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      TORCH_CHECK(!p.grad().is_sparse(), "FusedAdamW does not support sparse gradients");
      void* key = p.unsafeGetTensorImpl();
      auto& slot = state_[key];
      if (!slot) {  // lazily, as torch::optim::AdamW does
        auto s = std::make_unique<torch::optim::AdamWParamState>();
        s->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        s->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(s);
      }
      auto& s = static_cast<torch::optim::AdamWParamState&>(*slot);
      StepTensor& st = steps_[key];
      if (!st.tensor.defined() || st.tensor.device() != p.device()) st.value = -1;
      if (st.value != s.step()) {  // first use, or a state loaded from a checkpoint
        st.tensor = torch::full({}, static_cast<double>(s.step()), torch::dtype(torch::kFloat32).device(p.device()));
        st.value = s.step();
      }
      s.step(s.step() + 1);
      ++st.value;
      Bucket* b = nullptr;
      for (auto& candidate : buckets)
        if (candidate.device == p.device() && candidate.dtype == p.scalar_type()) b = &candidate;
      if (!b) b = &buckets.emplace_back(Bucket{p.device(), p.scalar_type(), {}, {}, {}, {}, {}});
      b->params.push_back(p);
      b->grads.push_back(p.grad());
      b->exp_avgs.push_back(s.exp_avg());
      b->exp_avg_sqs.push_back(s.exp_avg_sq());
      b->steps.push_back(st.tensor);
    }
    const auto [beta1, beta2] = o.betas();
    for (auto& b : buckets) {
      at::_foreach_add_(b.steps, 1);
      at::_fused_adamw_(b.params, b.grads, b.exp_avgs, b.exp_avg_sqs, {}, b.steps, o.lr(), beta1, beta2,
                        o.weight_decay(), o.eps(), /*amsgrad=*/false, /*maximize=*/false);
    }
  }
  return loss;
}

}  // namespace unmask
