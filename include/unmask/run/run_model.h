// The model of a run: `build_model` is the one place a backbone and an
// objective are assembled from a config and a tokenizer (training, import,
// loading), and `load_run_model` the one place a checkpoint is read back for
// sampling, evaluation, init.from and export: its resolved config,
// tokenizer, objective (with the spindle token weights it was trained with)
// and EMA or raw weights, on the requested device.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <filesystem>
#include <memory>
#include <string>

#include "unmask/config.h"
#include "unmask/diffusion/objective.h"
#include "unmask/model/backbone.h"
#include "unmask/tokenizer/tokenizer.h"

namespace unmask {

struct BuiltModel {
  std::int64_t vocab_size = 0;           // rows of the embedding and output (tokenizer's, or model.vocab_size)
  std::unique_ptr<Objective> objective;
  Backbone model{nullptr};               // freshly initialised from the current torch seed, on the CPU
};

// `token_weights` (V): the spindle schedule's per-token weights, undefined otherwise.
BuiltModel build_model(const RunConfig& config, const Tokenizer& tokenizer, const at::Tensor& token_weights = {});

struct RunModel {
  std::filesystem::path dir;             // the checkpoint directory (step-NNNNNNN)
  RunConfig config;                      // as trained
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<Objective> objective;
  Backbone model{nullptr};               // in eval mode, on `device`
  c10::Device device{c10::kCPU};
  bool ema = false;                      // the EMA weights were loaded
  bool trained = false;                  // trained by unmask (the checkpoint has optimizer state), not only
                                         // imported: its losses left [MASK] out of the softmax
};

// `spec`: a run dir (its latest checkpoint) or a checkpoint dir, checked
// against its manifest. `device`: auto | cpu | cuda. `ema`: the EMA weights
// when the checkpoint has them. Errors name what is missing (tokenizer,
// weights, config). `precision`: run (the checkpoint's train.precision) |
// fp32 | bf16, what sampling and evaluation autocast by (bf16 on CUDA only):
// fp32 makes GPU comparisons exact where bf16 rounds (docs/GPU.md).
RunModel load_run_model(const std::filesystem::path& spec, const std::string& device, bool ema,
                        const std::string& precision = "run");

// The resolved config of a checkpoint directory (its config.json).
RunConfig read_run_config(const std::filesystem::path& checkpoint_dir);

// auto | cpu | cuda → a device (error when cuda is asked for but absent).
c10::Device resolve_device(const std::string& device);

}  // namespace unmask
