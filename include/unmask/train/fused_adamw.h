// AdamW whose step is one fused kernel per parameter group and device
// (ATen's _fused_adamw_, on CPU and CUDA) instead of LibTorch C++'s
// torch::optim::AdamW, which launches about eight element-wise operations per
// parameter tensor. Same update (Loshchilov & Hutter 2019, as in
// torch.optim.AdamW), same state (AdamWParamState: step, exp_avg,
// exp_avg_sq), so a checkpoint's optimizer.pt is read and written by either.
// LibTorch C++ has no fused or foreach option of its own (its optimizers are
// written per parameter), hence this class.
#pragma once

#include <torch/optim/adamw.h>

#include <unordered_map>

namespace unmask {

class FusedAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;
  torch::Tensor step(LossClosure closure = nullptr) override;

 private:
  // The step count of each parameter as a 0-dim float tensor on its device,
  // which the fused kernel reads; advanced with one foreach add per group, and
  // refilled from the state's integer step when they disagree (after load()).
  struct StepTensor {
    at::Tensor tensor;
    std::int64_t value = -1;
  };
  std::unordered_map<const void*, StepTensor> steps_;
};

}  // namespace unmask
