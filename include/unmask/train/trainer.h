// `unmask train`: trains any backbone × objective from a resolved config on
// the model's device, with AdamW, warmup/decay, clipping, gradient
// accumulation, EMA, bf16 autocast on CUDA, periodic validation, metrics,
// checkpoints with exact resume, and clean stops on SIGINT/SIGTERM.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <memory>
#include <string>

#include "unmask/config.h"
#include "unmask/data/batch.h"
#include "unmask/diffusion/objective.h"
#include "unmask/model/backbone.h"

namespace unmask {

class GradSync;

struct TrainOptions {
  RunConfig config;
  Json resolved;                  // the resolved config tree (stored with the run)
  std::filesystem::path out_dir;  // run directory
  std::string resume;             // "" = fresh run; "latest" or a checkpoint/run path
};

// Sums over the chunks of a batch, for one optimizer step.
struct GradResult {
  double loss_sum = 0, denominator = 0;  // loss = loss_sum / denominator
  double nelbo_sum = 0, tokens = 0;      // nelbo_sum is NaN when the objective is no bound
};

// Forward and backward over `chunks` equal slices of an already corrupted
// batch, then divides the accumulated gradients by the total denominator: the
// gradient equals that of the whole batch in one piece. `autocast_bf16` runs
// the forward under bf16 autocast on the model's device type. With `sync`
// (data parallel) the last chunk's backward all-reduces the gradients, which
// are left as sums: the caller divides by the denominator summed over ranks.
// `masked_head`: the output head at the masked rows only where the objective
// allows it (model_loss.h).
GradResult accumulate_gradients(BackboneImpl& model, const Objective& objective, const Batch& batch,
                                const Noised& noised, std::int64_t chunks, bool autocast_bf16,
                                GradSync* sync = nullptr, bool masked_head = true);

class Trainer {
 public:
  explicit Trainer(TrainOptions options);
  ~Trainer();
  // Trains to train.max_steps, or until SIGINT/SIGTERM (then checkpoints).
  // Returns the step reached.
  std::int64_t run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace unmask
