// The strategy table: one instance of every sampler in samplers.def, each
// made by the make_<name>_sampler() of its file in samplers/.
#include "strategies.h"

#include <algorithm>
#include <memory>
#include <vector>

#if UNMASK_HAVE_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#endif

namespace unmask::sampling {

#define UNMASK_SAMPLER(name, supports, summary) std::unique_ptr<Strategy> make_##name##_sampler();
#include "unmask/samplers.def"
#undef UNMASK_SAMPLER

std::int64_t min_draw_budget(const at::Device& device) {
  const std::int64_t cpu = std::int64_t{16} << 20;
#if UNMASK_HAVE_CUDA
  if (device.is_cuda()) {
    const c10::cuda::CUDAGuard guard(device);
    std::size_t free = 0, total = 0;
    if (cudaMemGetInfo(&free, &total) == cudaSuccess)
      return std::max(cpu, std::min<std::int64_t>(std::int64_t{1} << 30, static_cast<std::int64_t>(free / 4)));
  }
#endif
  (void)device;
  return cpu;
}

at::Tensor draw_at(const Denoiser& d, const Positions& at, const at::Tensor& lp, const at::Tensor& u) {
  const at::Tensor u_rows = at.rows(u);  // (R) float64
  return at.map_rows(lp, d.chunk_rows(lp, d.picker.bytes_per_element()),
                     [&](const at::Tensor& rows, std::int64_t first, std::int64_t n) {
                       return std::vector<at::Tensor>{d.picker.draw(rows, u_rows.narrow(0, first, n))};
                     })[0];
}

const Strategy& strategy(SamplerId id) {
  static const std::vector<std::unique_ptr<Strategy>> table = [] {
    std::vector<std::unique_ptr<Strategy>> t;
#define UNMASK_SAMPLER(name, supports, summary) t.push_back(make_##name##_sampler());
#include "unmask/samplers.def"
#undef UNMASK_SAMPLER
    return t;
  }();
  return *table.at(static_cast<std::size_t>(id));
}

}  // namespace unmask::sampling
