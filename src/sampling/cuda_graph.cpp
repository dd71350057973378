// CudaGraphed on at::cuda::CUDAGraph: warm-up and capture on a side stream
// with the autocast weight cache off (a cached cast would be freed under the
// graph), one graph per list of input shapes. Compiled only where LibTorch
// has CUDA.
#include "cuda_graph.h"

#include <map>
#include <utility>

#include "unmask/util/error.h"

#if UNMASK_HAVE_CUDA
#include <ATen/autocast_mode.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace unmask::sampling {

#if UNMASK_HAVE_CUDA

struct CudaGraphed::Impl {
  struct Captured {
    std::vector<at::Tensor> in, out;  // static buffers the graph reads and writes
    std::unique_ptr<at::cuda::CUDAGraph> graph;
  };
  Fn fn;
  std::map<std::vector<std::vector<std::int64_t>>, Captured> graphs;

  Captured& capture(const std::vector<at::Tensor>& inputs, std::int64_t& eager_calls) {
    std::vector<std::vector<std::int64_t>> key;
    for (const at::Tensor& t : inputs) {
      if (!t.is_cuda()) throw Error("CUDA-graph capture needs its inputs on a CUDA device");
      key.emplace_back(t.sizes().begin(), t.sizes().end());
    }
    auto it = graphs.find(key);
    if (it != graphs.end()) return it->second;
    Captured c;
    for (const at::Tensor& t : inputs) c.in.push_back(t.clone());
    const bool cache = at::autocast::is_autocast_cache_enabled();
    at::autocast::set_autocast_cache_enabled(false);
    {
      c10::cuda::getCurrentCUDAStream().synchronize();  // the inputs were written on the current stream
      const c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool();
      const c10::cuda::CUDAStreamGuard guard(side);
      for (int i = 0; i < 3; ++i, ++eager_calls) (void)fn(c.in);  // warm-up: lazy init, allocator, cuBLAS handles
      side.synchronize();
      for (std::size_t i = 0; i < inputs.size(); ++i) c.in[i].copy_(inputs[i]);  // a step may have changed them
      c.graph = std::make_unique<at::cuda::CUDAGraph>();
      c.graph->capture_begin();
      c.out = fn(c.in);
      ++eager_calls;
      c.graph->capture_end();
    }
    c10::cuda::getCurrentCUDAStream().synchronize();
    at::autocast::set_autocast_cache_enabled(cache);
    return graphs.emplace(std::move(key), std::move(c)).first->second;
  }
};

CudaGraphed::CudaGraphed(Fn fn) : impl_(std::make_unique<Impl>()) { impl_->fn = std::move(fn); }

std::vector<at::Tensor> CudaGraphed::operator()(const std::vector<at::Tensor>& inputs) {
  Impl::Captured& c = impl_->capture(inputs, eager_calls_);
  for (std::size_t i = 0; i < inputs.size(); ++i) c.in[i].copy_(inputs[i]);
  c.graph->replay();
  std::vector<at::Tensor> out;
  for (const at::Tensor& t : c.out) out.push_back(t.clone());  // the next replay overwrites the static ones
  return out;
}

#else

struct CudaGraphed::Impl {};

CudaGraphed::CudaGraphed(Fn) {
  throw Error("this unmask was built without CUDA support; CUDA-graph capture is unavailable");
}

std::vector<at::Tensor> CudaGraphed::operator()(const std::vector<at::Tensor>&) { return {}; }

#endif

CudaGraphed::~CudaGraphed() = default;

}  // namespace unmask::sampling
