// Block diffusion's vectorised training input (BD3-LM, Arriola et al. 2025,
// §3.2 and Eq. 8; kuleshov-group/bd3lms models/dit.py block_diff_mask): the
// noisy x_t and the clean x_0 of a row as one 2L-token sequence, x_t first,
// both halves at positions 0..L−1, attending as
//   x_t block b → x_t block b            (block-diagonal),
//   x_t block b → x_0 blocks < b         (offset block-causal),
//   x_0 block b → x_0 blocks ≤ b         (block-causal),
// and nothing else: no x_t position sees its own or a later block's x_0, and
// x_0 never sees x_t. One forward then gives every block's logits
// conditioned on the clean blocks before it. Blocks are counted within each
// half (position p is in block p / L′).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace unmask {

struct BlockInput {
  at::Tensor tokens;     // (B, 2L) int64: x_t ⊕ x_0
  at::Tensor key_mask;   // (B, 2L) bool (padding of both halves), or undefined
  at::Tensor positions;  // (2L) int64: 0..L−1, twice
  at::Tensor attn_mask;  // (2L, 2L) bool, true = attend
};

// x_t, x0: (B, L) int64; pad_mask: (B, L) bool or undefined; block_size
// divides L. Built with tensor ops on x_t's device.
BlockInput block_input(const at::Tensor& x_t, const at::Tensor& x0, const at::Tensor& pad_mask,
                       std::int64_t block_size);

// The (2L, 2L) pattern above for rows of L tokens in blocks of block_size.
at::Tensor block_diffusion_mask(std::int64_t L, std::int64_t block_size, const at::TensorOptions& options);

}  // namespace unmask
