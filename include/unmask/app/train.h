// Entry point of `unmask train` for the CLI. Torch-free on purpose: the CLI
// is compiled without LibTorch's headers (see docs/ARCHITECTURE.md).
#pragma once

#include <string>
#include <vector>

namespace unmask {

struct TrainRequest {
  std::vector<std::string> configs;  // JSON files, merged in order
  std::vector<std::string> sets;     // "a.b=value" overrides
  std::string out;                   // run directory (default: out_dir of the config)
  std::string resume;                // "" = fresh; "latest" or a run/checkpoint path
  std::string device;                // "" = train.device of the config
};

// Trains; returns the step reached. Errors are unmask::Error.
long long run_training(const TrainRequest& request);

}  // namespace unmask
