// BlockCache: a full pass that keeps the keys/values, then passes over the
// block (dual) or the block and the suffix (prefix) (see block_cache.h).
#include "block_cache.h"

#include <torch/torch.h>

#include "unmask/diffusion/masking.h"
#include "unmask/util/error.h"

namespace unmask::sampling {

BlockCache::BlockCache(BackboneImpl& model, const Objective& objective, std::int64_t mask,
                       const SampleRequest& request, SampleResult& out)
    : model_(model),
      objective_(objective),
      mask_(mask),
      dual_(request.cache == "dual"),
      refresh_(request.cache_refresh),
      out_(out) {
  if (request.cache != "prefix" && request.cache != "dual")
    throw Error("internal: BlockCache for --cache " + request.cache);
}

void BlockCache::begin_block(std::int64_t begin, std::int64_t end) {
  begin_ = begin;
  end_ = end;
  calls_ = 0;
}

at::Tensor BlockCache::operator()(const at::Tensor& x, const at::Tensor& t) {
  const at::Tensor cond = objective_.time_condition(t).to(x.device());
  const std::int64_t width = x.size(1);
  const bool full = calls_ == 0 || (refresh_ > 0 && calls_ % refresh_ == 0) || !lp_.defined() ||
                    lp_.size(0) != x.size(0) || lp_.size(1) != width;
  ++calls_;
  if (full) {  // one pass over the whole canvas that keeps every position's keys and values
    cache_.reset(model_.options().model.layers);
    lp_ = log_probs_without_mask_consuming(model_.forward_cached(x, cond, cache_, /*store=*/true, /*causal_within=*/false),
                                 mask_);  // (N, W, V)
    cache_.drop(begin_, dual_ ? end_ : width);
    out_.positions_computed += width;
    return lp_;
  }
  const std::int64_t n = (dual_ ? end_ : width) - begin_;  // the positions recomputed
  at::Tensor part = model_.forward_cached(x.narrow(1, begin_, n), cond, cache_, /*store=*/false,
                                          /*causal_within=*/false);  // (N, n, V)
  lp_.narrow(1, begin_, n).copy_(log_probs_without_mask_consuming(std::move(part), mask_));
  out_.positions_computed += n;
  return lp_;
}

}  // namespace unmask::sampling
