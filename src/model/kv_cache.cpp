// KvCache: concatenation on append, narrowing on keep_last (see kv_cache.h).
#include "unmask/model/kv_cache.h"

#include <ATen/ATen.h>

#include "unmask/util/error.h"

namespace unmask {

void KvCache::reset(std::int64_t layers) {
  keys_.assign(static_cast<std::size_t>(layers), at::Tensor());
  values_.assign(static_cast<std::size_t>(layers), at::Tensor());
  gap_ = false;
  next_ = 0;
  positions_ = at::Tensor();
}

std::pair<at::Tensor, at::Tensor> KvCache::view(std::int64_t layer) const {
  if (layer < 0 || layer >= static_cast<std::int64_t>(keys_.size())) throw Error("KV cache: no layer " + std::to_string(layer));
  return {keys_[static_cast<std::size_t>(layer)], values_[static_cast<std::size_t>(layer)]};
}

void KvCache::append(std::int64_t layer, const at::Tensor& keys, const at::Tensor& values) {
  if (layer < 0 || layer >= static_cast<std::int64_t>(keys_.size())) throw Error("KV cache: no layer " + std::to_string(layer));
  if (gap_) throw Error("internal: a KV cache with a dropped span takes no stores");
  auto& k = keys_[static_cast<std::size_t>(layer)];
  auto& v = values_[static_cast<std::size_t>(layer)];
  k = k.defined() ? at::cat({k, keys}, 2) : keys.contiguous();
  v = v.defined() ? at::cat({v, values}, 2) : values.contiguous();
}

std::pair<at::Tensor, at::Tensor> KvCache::extend(std::int64_t layer, const at::Tensor& keys,
                                                  const at::Tensor& values, bool store) {
  const auto [ck, cv] = view(layer);
  if (store) append(layer, keys, values);
  if (!ck.defined()) return {keys, values};
  return {at::cat({ck, keys}, 2), at::cat({cv, values}, 2)};
}

std::int64_t KvCache::length() const {
  return keys_.empty() || !keys_[0].defined() ? 0 : keys_[0].size(2);
}

void KvCache::keep_last(std::int64_t n) {
  if (gap_) throw Error("internal: a KV cache with a dropped span does not slide");
  for (std::size_t l = 0; l < keys_.size(); ++l) {
    if (!keys_[l].defined() || keys_[l].size(2) <= n) continue;
    const std::int64_t drop = keys_[l].size(2) - n;
    keys_[l] = keys_[l].narrow(2, drop, n).contiguous();
    values_[l] = values_[l].narrow(2, drop, n).contiguous();
  }
}

void KvCache::drop(std::int64_t begin, std::int64_t end) {
  const std::int64_t P = length();
  if (gap_ || begin < 0 || begin > end || end > P)
    throw Error("internal: KV cache drop [" + std::to_string(begin) + ", " + std::to_string(end) + ") of " +
                std::to_string(P) + " positions");
  for (std::size_t l = 0; l < keys_.size(); ++l) {
    if (!keys_[l].defined()) continue;
    auto keep = [&](const at::Tensor& t) {  // (N, heads, P, D) → (N, heads, P − (end − begin), D)
      return at::cat({t.narrow(2, 0, begin), t.narrow(2, end, P - end)}, 2);
    };
    keys_[l] = keep(keys_[l]);
    values_[l] = keep(values_[l]);
  }
  if (end < P) {  // a span from the middle: the positions are no longer 0..P′−1
    gap_ = true;
    next_ = begin;
    const auto on_device = keys_[0].options().dtype(at::kLong);  // built where the keys live: no copy per call
    positions_ = at::cat({at::arange(begin, on_device), at::arange(end, P, on_device)});
  }
}

at::Tensor KvCache::positions(std::int64_t layer, std::int64_t n, const at::TensorOptions& options) const {
  const at::Tensor& k = view(layer).first;  // earlier layers of this call may have stored already
  if (!gap_) return at::arange((k.defined() ? k.size(2) : 0) + n, options.dtype(at::kLong));  // 0..P−1, the call's P..
  const at::Tensor own = at::arange(next_, next_ + n, options.dtype(at::kLong));
  return at::cat({positions_.to(options.device()), own});  // positions_ is on the keys' device already
}

}  // namespace unmask
