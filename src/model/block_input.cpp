// The x_t ⊕ x_0 input of block diffusion and its attention pattern, as tensor
// ops (no host loops): see block_input.h.
#include "unmask/model/block_input.h"

#include <ATen/ATen.h>

#include "unmask/util/error.h"

namespace unmask {

at::Tensor block_diffusion_mask(std::int64_t L, std::int64_t block_size, const at::TensorOptions& options) {
  if (block_size < 1 || L % block_size != 0)
    throw Error("block diffusion needs a block size that divides the row length (" + std::to_string(L) +
                "), got " + std::to_string(block_size));
  const at::Tensor idx = at::arange(2 * L, options.dtype(at::kLong));  // (2L)
  const at::Tensor clean = idx >= L;                                    // (2L): the x_0 half
  const at::Tensor block = at::where(clean, idx - L, idx).div(block_size, "floor");
  const at::Tensor bq = block.unsqueeze(1), bk = block.unsqueeze(0);    // (2L, 1), (1, 2L)
  const at::Tensor cq = clean.unsqueeze(1), ck = clean.unsqueeze(0);
  const at::Tensor diagonal = bq.eq(bk).logical_and(cq.eq(ck));
  const at::Tensor offset_causal = bq.gt(bk).logical_and(ck).logical_and(cq.logical_not());
  const at::Tensor causal = bq.ge(bk).logical_and(ck).logical_and(cq);
  return diagonal.logical_or(offset_causal).logical_or(causal);  // (2L, 2L)
}

BlockInput block_input(const at::Tensor& x_t, const at::Tensor& x0, const at::Tensor& pad_mask,
                       std::int64_t block_size) {
  const std::int64_t L = x_t.size(1);
  BlockInput in;
  in.tokens = at::cat({x_t, x0}, 1);  // (B, 2L)
  if (pad_mask.defined()) in.key_mask = at::cat({pad_mask, pad_mask}, 1);
  const at::Tensor pos = at::arange(L, x_t.options().dtype(at::kLong));
  in.positions = at::cat({pos, pos});
  in.attn_mask = block_diffusion_mask(L, block_size, x_t.options());
  return in;
}

}  // namespace unmask
