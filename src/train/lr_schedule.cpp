// Warmup and decay of the learning rate.
#include "unmask/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace unmask {

double learning_rate(const TrainConfig& c, std::int64_t step) {
  if (step < c.warmup_steps) return c.lr * static_cast<double>(step + 1) / static_cast<double>(c.warmup_steps);
  if (c.lr_schedule == "constant") return c.lr;
  const double span = static_cast<double>(std::max<std::int64_t>(1, c.max_steps - c.warmup_steps));
  const double progress = std::min(1.0, static_cast<double>(step - c.warmup_steps) / span);
  if (c.lr_schedule == "cosine") return c.lr * 0.5 * (1.0 + std::cos(M_PI * progress));
  return c.lr * (1.0 - progress);  // linear
}

}  // namespace unmask
