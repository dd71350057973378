// CUDA-graph capture for the samplers (internal): a function of device tensors
// is recorded into a graph the first time it sees a set of input shapes; later
// calls copy their inputs into the graph's static input buffers and replay it,
// so one call launches one graph instead of hundreds of kernels. The samplers
// record either the denoiser call alone or a whole step (strategies.h).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace unmask::sampling {

class CudaGraphed {
 public:
  // Inputs → outputs. It must read no tensor but its inputs and tensors that
  // outlive this object, take no host value that changes between calls, and
  // read nothing back to the host (graph capture forbids it).
  using Fn = std::function<std::vector<at::Tensor>(const std::vector<at::Tensor>&)>;
  // Error when this build has no CUDA support.
  explicit CudaGraphed(Fn fn);
  ~CudaGraphed();
  // Replays the graph of these input shapes (recording it first: three eager
  // warm-up calls, then the capture) → copies of its outputs.
  std::vector<at::Tensor> operator()(const std::vector<at::Tensor>& inputs);
  // How often `fn` itself has run (warm-ups and captures).
  std::int64_t eager_calls() const { return eager_calls_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::int64_t eager_calls_ = 0;
};

}  // namespace unmask::sampling
