// ProcessGroupNCCL for CUDA tensors (one process per GPU). NCCL refuses two
// ranks on one GPU, so multi-rank checks on a single-GPU machine use Gloo.
#include "nccl_backend.h"

#include "unmask/util/error.h"

#if UNMASK_HAVE_CUDA
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace unmask {

c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                                    int world_size, std::chrono::milliseconds timeout) {
#if UNMASK_HAVE_CUDA
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world_size, options);
#else
  (void)store, (void)rank, (void)world_size, (void)timeout;
  throw Error("this unmask was built against a LibTorch without CUDA, so NCCL is unavailable (use dist.backend=gloo)");
#endif
}

}  // namespace unmask
