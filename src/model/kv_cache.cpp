// KvCache: concatenation on append, narrowing on keep_last (see kv_cache.h).
#include "unmask/model/kv_cache.h"

#include <ATen/ATen.h>

#include "unmask/util/error.h"

namespace unmask {

void KvCache::reset(std::int64_t layers) {
  keys_.assign(static_cast<std::size_t>(layers), at::Tensor());
  values_.assign(static_cast<std::size_t>(layers), at::Tensor());
}

std::pair<at::Tensor, at::Tensor> KvCache::view(std::int64_t layer) const {
  if (layer < 0 || layer >= static_cast<std::int64_t>(keys_.size())) throw Error("KV cache: no layer " + std::to_string(layer));
  return {keys_[static_cast<std::size_t>(layer)], values_[static_cast<std::size_t>(layer)]};
}

void KvCache::append(std::int64_t layer, const at::Tensor& keys, const at::Tensor& values) {
  if (layer < 0 || layer >= static_cast<std::int64_t>(keys_.size())) throw Error("KV cache: no layer " + std::to_string(layer));
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
  for (std::size_t l = 0; l < keys_.size(); ++l) {
    if (!keys_[l].defined() || keys_[l].size(2) <= n) continue;
    const std::int64_t drop = keys_[l].size(2) - n;
    keys_[l] = keys_[l].narrow(2, drop, n).contiguous();
    values_[l] = values_[l].narrow(2, drop, n).contiguous();
  }
}

}  // namespace unmask
