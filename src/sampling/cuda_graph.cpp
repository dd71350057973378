// GraphedForward on at::cuda::CUDAGraph: warm-up and capture on a side stream
// with the autocast weight cache off (a cached cast would be freed under the
// graph), one graph per input shape. Compiled only where LibTorch has CUDA.
#include "cuda_graph.h"

#include <map>
#include <utility>
#include <vector>

#include "unmask/util/error.h"

#if UNMASK_HAVE_CUDA
#include <ATen/autocast_mode.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace unmask::sampling {

#if UNMASK_HAVE_CUDA

struct GraphedForward::Impl {
  struct Captured {
    at::Tensor x, cond, out;  // static buffers the graph reads and writes
    std::unique_ptr<at::cuda::CUDAGraph> graph;
  };
  Forward forward;
  std::map<std::vector<std::int64_t>, Captured> graphs;

  Captured& capture(const at::Tensor& x, const at::Tensor& cond) {
    std::vector<std::int64_t> key(x.sizes().begin(), x.sizes().end());
    key.insert(key.end(), cond.sizes().begin(), cond.sizes().end());
    auto it = graphs.find(key);
    if (it != graphs.end()) return it->second;
    Captured c;
    c.x = x.clone();
    c.cond = cond.clone();
    const bool cache = at::autocast::is_autocast_cache_enabled();
    at::autocast::set_autocast_cache_enabled(false);
    {
      c10::cuda::getCurrentCUDAStream().synchronize();  // the inputs were written on the current stream
      const c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool();
      const c10::cuda::CUDAStreamGuard guard(side);
      for (int i = 0; i < 3; ++i) (void)forward(c.x, c.cond);  // warm-up: lazy init, allocator, cuBLAS handles
      side.synchronize();
      c.graph = std::make_unique<at::cuda::CUDAGraph>();
      c.graph->capture_begin();
      c.out = forward(c.x, c.cond);
      c.graph->capture_end();
    }
    c10::cuda::getCurrentCUDAStream().synchronize();
    at::autocast::set_autocast_cache_enabled(cache);
    return graphs.emplace(std::move(key), std::move(c)).first->second;
  }
};

GraphedForward::GraphedForward(Forward forward) : impl_(std::make_unique<Impl>()) { impl_->forward = std::move(forward); }

at::Tensor GraphedForward::operator()(const at::Tensor& x, const at::Tensor& cond) {
  if (!x.is_cuda()) throw Error("CUDA-graph capture needs the canvas on a CUDA device");
  Impl::Captured& c = impl_->capture(x, cond);
  c.x.copy_(x);
  c.cond.copy_(cond);
  c.graph->replay();
  return c.out.clone();
}

#else

struct GraphedForward::Impl {};

GraphedForward::GraphedForward(Forward) {
  throw Error("this unmask was built without CUDA support; CUDA-graph capture is unavailable");
}

at::Tensor GraphedForward::operator()(const at::Tensor&, const at::Tensor&) { return {}; }

#endif

GraphedForward::~GraphedForward() = default;

}  // namespace unmask::sampling
