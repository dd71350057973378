// A key/value cache for decoding (BD3-LM's blocks, AR tokens): per layer the
// keys and values of the positions already processed, (N, heads, P, D), which
// later calls attend to instead of recomputing them. Positions are counted
// within the cache: the first cached entry is position 0 and the tokens of a
// call follow the last one. Keys are stored before the rotary embedding, which
// the backbone applies at those positions on every call, so dropping the
// oldest entries (the sliding window past the model's context) re-bases the
// rest to 0, as BD3-LM's cache does (bd3lms models/dit.py get_qkv).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace unmask {

class KvCache {
 public:
  // Empties the cache for a model of `layers` layers.
  void reset(std::int64_t layers);
  // Layer l's cached keys and values, (N, heads, P, D) each; undefined when empty.
  std::pair<at::Tensor, at::Tensor> view(std::int64_t layer) const;
  // Appends (N, heads, n, D) keys and values of layer l. Every layer must
  // append the same positions before length() moves on.
  void append(std::int64_t layer, const at::Tensor& keys, const at::Tensor& values);
  // What a call's attention at layer l reads: the cached keys and values
  // followed by this call's (N, heads, n, D), which join the cache when
  // `store`. Returns (N, heads, P + n, D) each.
  std::pair<at::Tensor, at::Tensor> extend(std::int64_t layer, const at::Tensor& keys, const at::Tensor& values,
                                           bool store);
  // Positions cached (those of layer 0); the next token's position.
  std::int64_t length() const;
  // Drops all but the last `n` positions of every layer (the sliding window).
  void keep_last(std::int64_t n);
  bool empty() const { return length() == 0; }

 private:
  std::vector<at::Tensor> keys_, values_;
};

}  // namespace unmask
