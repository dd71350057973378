// FusedAdamW against LibTorch's torch::optim::AdamW: the same update (two
// groups, with and without decay, a parameter without a gradient), the same
// state, and a save/load in the middle continuing bit for bit.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sstream>

#include "unmask/train/fused_adamw.h"

namespace unmask {
namespace {

struct Params {
  std::vector<at::Tensor> decay, no_decay;
  std::vector<at::Tensor> all() const {
    auto a = decay;
    a.insert(a.end(), no_decay.begin(), no_decay.end());
    return a;
  }
};

Params make_params() {
  torch::manual_seed(0);
  Params p;
  p.decay = {torch::randn({64, 32}).requires_grad_(), torch::randn({16, 8, 3}).requires_grad_()};
  p.no_decay = {torch::randn({32}).requires_grad_(), torch::randn({7}).requires_grad_()};
  return p;
}

template <class Optimizer> std::unique_ptr<Optimizer> make_optimizer(const Params& p) {
  auto options = torch::optim::AdamWOptions(3e-3).betas({0.9, 0.98}).eps(1e-8);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(p.decay, std::make_unique<torch::optim::AdamWOptions>(
                                   torch::optim::AdamWOptions(options).weight_decay(0.1)));
  groups.emplace_back(p.no_decay,
                      std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(options).weight_decay(0)));
  return std::make_unique<Optimizer>(groups, options);
}

// Gradients of step `k`, the same for every optimizer; the last parameter never gets one.
void set_grads(const Params& p, int k) {
  auto all = p.all();
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (i + 1 == all.size()) continue;
    torch::manual_seed(100 + k * 10 + static_cast<int>(i));
    all[i].mutable_grad() = torch::randn_like(all[i]);
  }
}

TEST(FusedAdamW, MatchesLibTorchAdamW) {
  const Params a = make_params(), b = make_params();
  auto reference = make_optimizer<torch::optim::AdamW>(a);
  auto fused = make_optimizer<FusedAdamW>(b);
  for (int k = 0; k < 6; ++k) {
    set_grads(a, k);
    set_grads(b, k);
    reference->step();
    fused->step();
  }
  const auto pa = a.all(), pb = b.all(), start = make_params().all();
  for (std::size_t i = 0; i < pa.size(); ++i) {
    EXPECT_TRUE(torch::allclose(pa[i], pb[i], 1e-6, 1e-7)) << i << ": " << (pa[i] - pb[i]).abs().max().item<double>();
    if (i + 1 < pa.size()) EXPECT_FALSE(torch::equal(pb[i], start[i])) << "parameter " << i << " did not move";
  }
  EXPECT_TRUE(torch::equal(pa.back(), pb.back()));  // no gradient, no step, no state
  EXPECT_EQ(fused->state().size(), reference->state().size());
  for (std::size_t i = 0; i + 1 < pb.size(); ++i) {
    const auto& s = static_cast<torch::optim::AdamWParamState&>(*fused->state().at(pb[i].unsafeGetTensorImpl()));
    const auto& r = static_cast<torch::optim::AdamWParamState&>(*reference->state().at(pa[i].unsafeGetTensorImpl()));
    EXPECT_EQ(s.step(), 6);
    EXPECT_TRUE(torch::allclose(s.exp_avg_sq(), r.exp_avg_sq(), 1e-6, 1e-12));
  }
}

TEST(FusedAdamW, SaveAndLoadInTheMiddleContinueBitForBit) {
  const Params a = make_params(), b = make_params();
  auto straight = make_optimizer<FusedAdamW>(a);
  auto first = make_optimizer<FusedAdamW>(b);
  for (int k = 0; k < 3; ++k) {
    set_grads(a, k);
    straight->step();
    set_grads(b, k);
    first->step();
  }
  std::stringstream bytes;
  torch::save(*first, bytes);
  auto second = make_optimizer<FusedAdamW>(b);  // a fresh optimizer on the same parameters
  torch::load(*second, bytes);
  for (int k = 3; k < 6; ++k) {
    set_grads(a, k);
    straight->step();
    set_grads(b, k);
    second->step();
  }
  const auto pa = a.all(), pb = b.all();
  for (std::size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << i;
}

}  // namespace
}  // namespace unmask
