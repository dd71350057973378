// Factories of the built-in objectives, for the registry in objective.cpp,
// and what the discrete-time losses (mdlm with T > 0, d3pm) share.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>

#include "unmask/diffusion/objective.h"

namespace unmask {

// The reverse step a discrete-time loss term covers. Training samples one
// step k → k − 1 and estimates the whole NELBO as T times its KL; the ELBO's
// s-step chain (`Noised::t_prev`, DiffusionBERT compute_elbo.py) asks for the
// KL of the step k → k − s itself.
struct DiscreteStep {
  at::Tensor prev;     // (B) the time the step goes down to
  double nelbo_scale;  // T for one sampled step, 1 for a step of the chain
};
inline DiscreteStep discrete_step(const Noised& n, std::int64_t T) {
  if (n.t_prev.defined()) return {n.t_prev, 1.0};
  return {n.t - 1.0 / static_cast<double>(T), static_cast<double>(T)};
}

std::unique_ptr<Objective> make_mdlm(const ObjectiveContext& context);
std::unique_ptr<Objective> make_d3pm(const ObjectiveContext& context, bool diffusionbert);
std::unique_ptr<Objective> make_mlm(const ObjectiveContext& context, bool roberta_diffusion);
std::unique_ptr<Objective> make_ar(const ObjectiveContext& context);
std::unique_ptr<Objective> make_bd3lm(const ObjectiveContext& context);

}  // namespace unmask
