// Fast-dLLM's approximate caches for block decoding over a bidirectional
// backbone (Wu et al. 2025, arXiv 2505.22618, §3.2; NVlabs/Fast-dLLM
// v1/llada/generate.py generate_with_prefix_cache, generate_with_dual_cache),
// used by semi_ar's blocks with --cache prefix|dual (internal).
//   A block's first call is one full pass over the canvas, which also keeps
//   every position's keys and values (model/kv_cache.h).
//   prefix: later calls recompute the block and everything after it,
//           attending to the kept keys/values of the positions before it.
//   dual:   later calls recompute the block's positions only, attending to
//           the kept prefix and suffix.
// The kept keys/values are those of the canvas (and time) at the block's
// first call: later reveals inside the block do not reach the prefix, and in
// bert/dit (attention in both directions) the prefix did attend to the old
// block, so both caches are approximations; --cache-refresh N makes every
// N-th call a full pass again (1: every call, the uncached tokens exactly).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "unmask/diffusion/objective.h"
#include "unmask/model/backbone.h"
#include "unmask/model/kv_cache.h"
#include "unmask/sampling/sampler.h"

namespace unmask::sampling {

class BlockCache {
 public:
  // request.cache is prefix or dual.
  BlockCache(BackboneImpl& model, const Objective& objective, std::int64_t mask, const SampleRequest& request,
             SampleResult& out);
  // A new block: positions [begin, end) of the canvas the next calls pass.
  void begin_block(std::int64_t begin, std::int64_t end);
  // (N, W) canvas, (N) times → (N, W, V) float32 log p_θ(x0 | x_t), [MASK]
  // excluded: fresh at the positions this call recomputed (the block, and
  // with prefix everything after it), elsewhere those of the last full pass.
  // The tensor is updated in place by the next call.
  at::Tensor operator()(const at::Tensor& x, const at::Tensor& t);

 private:
  BackboneImpl& model_;
  const Objective& objective_;
  std::int64_t mask_;
  bool dual_;
  std::int64_t refresh_;
  SampleResult& out_;
  KvCache cache_;
  std::int64_t begin_ = 0, end_ = 0, calls_ = 0;  // the block, and calls since it began
  at::Tensor lp_;                                 // (N, W, V) the log-probabilities handed out
};

}  // namespace unmask::sampling
