// A trained model rebuilt from a checkpoint directory alone: its resolved
// config, tokenizer, objective (with the spindle token weights it was trained
// with) and EMA or raw weights, on the requested device. Used by `sample`,
// `eval` and the benchmarks.
#pragma once

#include <c10/core/Device.h>

#include <filesystem>
#include <memory>
#include <string>

#include "unmask/config.h"
#include "unmask/diffusion/objective.h"
#include "unmask/model/backbone.h"
#include "unmask/tokenizer/tokenizer.h"

namespace unmask {

struct CheckpointModel {
  std::filesystem::path dir;             // the checkpoint directory (step-NNNNNNN)
  RunConfig config;                      // as trained
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<Objective> objective;
  Backbone model{nullptr};               // in eval mode, on `device`
  c10::Device device{c10::kCPU};
  bool ema = false;                      // the EMA weights were loaded
};

// `device`: auto | cpu | cuda. `spec`: a run dir (its latest checkpoint) or a
// checkpoint dir. Errors name what is missing (tokenizer, weights, config).
CheckpointModel load_checkpoint_model(const std::filesystem::path& spec, const std::string& device, bool no_ema);

// auto | cpu | cuda → a device (error when cuda is asked for but absent).
c10::Device resolve_device(const std::string& device);

}  // namespace unmask
