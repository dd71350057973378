// BD3-LM sampling (internal): blocks of L′ generated left to right, each
// denoised by a strategy (ancestral, first_hitting, confidence) with every
// earlier block clean and fixed; see block_sampler.cpp.
#pragma once

#include <ATen/core/Tensor.h>

#include "strategies.h"

namespace unmask::sampling {

// x: (N, length) canvas (BOS, prompts, [MASK]); length and `context` (the
// positions the model sees at once) are multiples of block_size. `cached`:
// the finished blocks' keys and values come from a KV cache (one extra
// network call per block stores them); otherwise every call recomputes the
// window of clean blocks before the current one. Both give the same tokens.
void block_diffusion(BackboneImpl& model, Denoiser& d, at::Tensor& x, std::int64_t block_size, std::int64_t context,
                     bool cached);

}  // namespace unmask::sampling
