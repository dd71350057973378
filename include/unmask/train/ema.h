// Exponential moving average of the weights, as MDLM's models/ema.py with
// use_num_updates: after n updates the decay is min(decay, (1 + n)/(10 + n)),
// and shadow ← d·shadow + (1 − d)·param. The EMA weights are what evaluation
// and sampling use when a checkpoint has them.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <map>
#include <string>
#include <vector>

namespace unmask {

class Ema {
 public:
  Ema(torch::nn::Module& module, double decay);
  void update(torch::nn::Module& module);
  double current_decay() const;  // the decay the next update will use
  // Swaps the EMA weights into the module (store) and back (restore).
  void swap_in(torch::nn::Module& module);
  void swap_out(torch::nn::Module& module);

  std::vector<std::pair<std::string, at::Tensor>> state() const;  // shadow.<name> and num_updates
  void load_state(const std::map<std::string, at::Tensor>& state);

 private:
  double decay_;
  std::int64_t num_updates_ = 0;
  std::vector<std::string> names_;
  std::vector<at::Tensor> shadow_, backup_;
};

}  // namespace unmask
