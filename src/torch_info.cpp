// LibTorch version and CUDA availability.
#include "unmask/torch_info.h"

#include <torch/cuda.h>
#include <torch/version.h>

namespace unmask {

std::string torch_version() { return TORCH_VERSION; }

bool cuda_available() { return torch::cuda::is_available(); }

std::string cuda_summary() {
  if (!torch::cuda::is_available()) return "no CUDA device";
  return "CUDA, " + std::to_string(torch::cuda::device_count()) + " device(s)";
}

}  // namespace unmask
