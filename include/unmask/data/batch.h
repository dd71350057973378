// The unit of data between the loader, the objectives and the trainer.
#pragma once

#include <ATen/core/Tensor.h>

namespace unmask {

struct Batch {
  at::Tensor tokens;         // (B, L) int64 token ids
  at::Tensor pad_mask;       // (B, L) bool, true at real tokens (attend), false at padding
  bool has_padding = true;   // false: pad_mask is all true, so attention may skip the mask
                             // (the fast SDPA kernels take no mask); known on the host
};

}  // namespace unmask
