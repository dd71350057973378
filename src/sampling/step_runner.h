// One step of a reverse loop as a function of device tensors (internal to the
// strategies): its inputs are the state the step reads (canvas, per-sample
// times) and, last, the step's index as a (1) int64 tensor; every value that
// changes from step to step (time, reveal probability, draw site) is looked up
// by that index in tables made before the loop. So the very same step runs
// eagerly, or is recorded once into a CUDA graph and replayed whole
// (`--cuda-graph` with ancestral, first_hitting and confidence).
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

#include "cuda_graph.h"
#include "strategies.h"

namespace unmask::sampling {

class StepRunner {
 public:
  // `step`: inputs (state..., index) → outputs. Under d.graph_steps it must
  // follow CudaGraphed's rules: its constants outlive this runner.
  StepRunner(Denoiser& d, CudaGraphed::Fn step);
  // Runs step n on `state` → the step's outputs (fresh tensors).
  std::vector<at::Tensor> operator()(std::vector<at::Tensor> state, std::int64_t n);

 private:
  Denoiser& d_;
  CudaGraphed::Fn step_;
  std::unique_ptr<CudaGraphed> graph_;
  std::int64_t calls_per_step_ = 0;      // network calls in one step, counted while recording
  std::int64_t positions_per_step_ = 0;  // and the positions they ran
};

// (S) float64 on the device of `like`: a per-step host value as a table.
at::Tensor step_table(const std::vector<double>& values, const at::Tensor& like);

}  // namespace unmask::sampling
