// StepRunner: the step called directly, or through a CudaGraphed whose network
// calls are counted once while it records and then once per replay (a replay
// runs no host code, so Denoiser::log_probs cannot count it).
#include "step_runner.h"

#include <torch/torch.h>

#include <utility>

namespace unmask::sampling {

StepRunner::StepRunner(Denoiser& d, CudaGraphed::Fn step) : d_(d), step_(std::move(step)) {
  if (d_.graph_steps) graph_ = std::make_unique<CudaGraphed>(step_);
}

std::vector<at::Tensor> StepRunner::operator()(std::vector<at::Tensor> state, std::int64_t n) {
  state.push_back(torch::full({1}, n, state.front().options().dtype(torch::kLong)));  // (1) the step's index
  if (!graph_) return step_(state);
  const std::int64_t calls = d_.out.network_calls, positions = d_.out.positions_computed, eager = graph_->eager_calls();
  const double seconds = d_.out.network_seconds;
  std::vector<at::Tensor> out = (*graph_)(state);
  if (const std::int64_t recorded = graph_->eager_calls() - eager; recorded > 0) {
    // Warm-up and capture ran the step eagerly: count what one step calls, not
    // their calls, and leave the time alone (a replay has no separate network time).
    calls_per_step_ = (d_.out.network_calls - calls) / recorded;
    positions_per_step_ = (d_.out.positions_computed - positions) / recorded;
    d_.out.network_calls = calls;
    d_.out.positions_computed = positions;
    d_.out.network_seconds = seconds;
  }
  d_.out.network_calls += calls_per_step_;
  d_.out.positions_computed += positions_per_step_;
  return out;
}

at::Tensor step_table(const std::vector<double>& values, const at::Tensor& like) {
  return torch::tensor(values, torch::kFloat64).to(like.device());  // (S)
}

}  // namespace unmask::sampling
