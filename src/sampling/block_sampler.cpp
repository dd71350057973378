// Block diffusion sampling (BD3-LM, Arriola et al. 2025, Alg. 2; bd3lms
// diffusion.py _semi_ar_sampler): block b is denoised from all-[MASK] with the
// request's sampler (one that supports kInBlocks) and steps, conditioned on the clean blocks before it:
//   cached:   the block attends to the KV cache of the finished blocks
//             (model/kv_cache.h), which a store pass extends after the block;
//   uncached: the window of clean blocks and the noisy block run through the
//             block-diffusion input (x_t ⊕ x_0, model/block_input.h) each call.
// Past the model's context the window slides by whole blocks (the cache drops
// its oldest block), so any length can be generated. Generation stops once
// every sample has produced EOS (checked once per block); what follows a
// sample's first generated EOS is [PAD].
#include "block_sampler.h"

#include <torch/torch.h>

#include "unmask/diffusion/masking.h"
#include "unmask/util/error.h"

namespace unmask::sampling {

void block_diffusion(BackboneImpl& model, Denoiser& d, at::Tensor& x, std::int64_t block_size, std::int64_t context,
                     bool cached) {
  const SampleRequest& r = d.request;
  const std::int64_t length = x.size(1), mask = d.special.mask;
  if (length % block_size != 0 || context % block_size != 0 || context < block_size)
    throw Error("a bd3lm model samples whole blocks: --length (" + std::to_string(length) + ") and its context (" +
                std::to_string(context) + ") must be multiples of diffusion.block_size (" +
                std::to_string(block_size) + ")");
  const at::Tensor fixed = x != mask;  // (N, length): BOS and prompts
  KvCache cache;
  cache.reset(model.options().model.layers);
  const at::Tensor clean_time = torch::zeros({x.size(0)}, torch::TensorOptions().dtype(torch::kFloat64));
  std::int64_t end = 0;
  for (std::int64_t begin = 0; begin < length; begin += block_size) {
    end = begin + block_size;
    const std::int64_t w0 = std::max<std::int64_t>(0, end - context);  // window start (uncached)
    d.phase = begin / block_size + 1;  // each block draws from its own sites
    d.network = [&](const at::Tensor& xt, const at::Tensor& t) {  // (N, L′), (N) → (N, L′, V)
      const at::Tensor cond = d.objective.time_condition(t).to(xt.device());
      at::Tensor logits;
      if (cached) {
        logits = model.forward_cached(xt, cond, cache, /*store=*/false, /*causal_within=*/false);
        d.out.positions_computed += xt.size(1);
      } else {
        at::Tensor window = x.narrow(1, w0, end - w0).clone();  // clean blocks, then this one
        window.narrow(1, begin - w0, block_size).copy_(xt);
        logits = model.forward_blocks(window, window, cond, at::Tensor(), block_size, at::Tensor())
                     .narrow(1, begin - w0, block_size);
        d.out.positions_computed += 2 * window.size(1);  // x_t ⊕ x_0
      }
      return log_probs_without_mask_consuming(std::move(logits), mask);
    };
    d.notify = [&](const at::Tensor& block) {
      x.narrow(1, begin, block_size).copy_(block);
      if (r.on_step) r.on_step(x.narrow(1, 0, end));
    };
    const std::int64_t calls = d.out.network_calls;
    at::Tensor block = x.narrow(1, begin, block_size).clone();  // (N, L′)
    strategy(r.sampler).denoise(d, block, at::Tensor(), r.steps);
    x.narrow(1, begin, block_size).copy_(block);
    if (cached) {  // the finished block joins the context of the next ones
      model.forward_cached(block, d.objective.time_condition(clean_time).to(x.device()), cache, /*store=*/true,
                           /*causal_within=*/false);
      ++d.out.network_calls;
      d.out.positions_computed += block_size;
      cache.keep_last(context - block_size);
    }
    d.out.calls_per_block.push_back(d.out.network_calls - calls);
    const at::Tensor eos = (x.narrow(1, 0, end) == d.special.eos).logical_and(fixed.narrow(1, 0, end).logical_not());
    if (eos.any(1).all().item<bool>()) break;
  }
  // Past each sample's first generated EOS: [PAD] (and nothing was generated
  // after the last block that ran).
  const at::Tensor eos = (x == d.special.eos).logical_and(fixed.logical_not()).to(torch::kLong);  // (N, length)
  const at::Tensor after = (eos.cumsum(1) - eos).gt(0);
  x.masked_fill_(after.logical_and(fixed.logical_not()), d.special.pad);
  if (end < length) x.narrow(1, end, length - end).masked_fill_(fixed.narrow(1, end, length - end).logical_not(), d.special.pad);
}

}  // namespace unmask::sampling
