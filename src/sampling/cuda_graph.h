// CUDA-graph capture of the denoiser call (internal to the samplers): the
// first call for a canvas shape records the forward pass into a graph, later
// calls copy their inputs into its static buffers and replay it, so a sampling
// step launches one graph instead of hundreds of kernels.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>

namespace unmask::sampling {

class GraphedForward {
 public:
  using Forward = std::function<at::Tensor(const at::Tensor&, const at::Tensor&)>;
  // Error when this build has no CUDA support.
  explicit GraphedForward(Forward forward);
  ~GraphedForward();
  // (N, L) int64 canvas and its time condition → the forward's output (a copy).
  at::Tensor operator()(const at::Tensor& x, const at::Tensor& cond);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace unmask::sampling
