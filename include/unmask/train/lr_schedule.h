// Learning rate per optimizer step: linear warmup to train.lr over
// train.warmup_steps, then constant, cosine or linear decay to 0 at
// train.max_steps. Step s (0-based) trains with lr(s); warmup gives
// lr·(s+1)/warmup so that no step runs at exactly 0.
#pragma once

#include <cstdint>

#include "unmask/config.h"

namespace unmask {

double learning_rate(const TrainConfig& config, std::int64_t step);

}  // namespace unmask
