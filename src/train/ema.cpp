// EMA of the trainable parameters.
#include "unmask/train/ema.h"

#include <torch/torch.h>

#include <algorithm>

#include "unmask/util/error.h"

namespace unmask {

Ema::Ema(torch::nn::Module& module, double decay) : decay_(decay) {
  torch::NoGradGuard guard;
  for (const auto& p : module.named_parameters()) {
    names_.push_back(p.key());
    shadow_.push_back(p.value().detach().clone());
  }
}

double Ema::current_decay() const {
  return std::min(decay_, (1.0 + static_cast<double>(num_updates_)) / (10.0 + static_cast<double>(num_updates_)));
}

void Ema::update(torch::nn::Module& module) {
  torch::NoGradGuard guard;
  const double d = current_decay();
  ++num_updates_;
  auto params = module.parameters();
  for (std::size_t i = 0; i < shadow_.size(); ++i) shadow_[i].mul_(d).add_(params[i].detach(), 1.0 - d);
}

void Ema::swap_in(torch::nn::Module& module) {
  torch::NoGradGuard guard;
  backup_.clear();
  auto params = module.parameters();
  for (std::size_t i = 0; i < shadow_.size(); ++i) {
    backup_.push_back(params[i].detach().clone());
    params[i].copy_(shadow_[i]);
  }
}

void Ema::swap_out(torch::nn::Module& module) {
  torch::NoGradGuard guard;
  auto params = module.parameters();
  for (std::size_t i = 0; i < backup_.size(); ++i) params[i].copy_(backup_[i]);
  backup_.clear();
}

std::vector<std::pair<std::string, at::Tensor>> Ema::state() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (std::size_t i = 0; i < shadow_.size(); ++i) out.emplace_back(names_[i], shadow_[i]);
  out.emplace_back("__num_updates__", torch::tensor({num_updates_}, torch::kLong));
  return out;
}

void Ema::load_state(const std::map<std::string, at::Tensor>& state) {
  torch::NoGradGuard guard;
  for (std::size_t i = 0; i < shadow_.size(); ++i) {
    const auto it = state.find(names_[i]);
    if (it == state.end()) throw Error("checkpoint EMA has no tensor '" + names_[i] + "'");
    shadow_[i].copy_(it->second);
  }
  const auto n = state.find("__num_updates__");
  if (n == state.end()) throw Error("checkpoint EMA has no update count");
  num_updates_ = n->second.item<std::int64_t>();
}

}  // namespace unmask
