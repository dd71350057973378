// What LibTorch this binary runs on, for --version and device selection;
// torch-free header so the CLI can call it.
#pragma once

#include <string>

namespace unmask {

std::string torch_version();   // e.g. "2.12.1"
bool cuda_available();
std::string cuda_summary();    // "CUDA 13.0, 1 device(s)" or "no CUDA device"

}  // namespace unmask
