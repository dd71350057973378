// A key/value cache for decoding (BD3-LM's blocks, AR tokens): per layer the
// keys and values of the positions already processed, (N, heads, P, D), which
// later calls attend to instead of recomputing them. Positions are counted
// within the cache: the first cached entry is position 0 and the tokens of a
// call follow the last one. Keys are stored before the rotary embedding, which
// the backbone applies at those positions on every call, so dropping the
// oldest entries (the sliding window past the model's context) re-bases the
// rest to 0, as BD3-LM's cache does (bd3lms models/dit.py get_qkv).
// Fast-dLLM's dual cache (semi_ar blocks of a bidirectional model) drops a
// span from the middle instead: the cached positions are then 0..b−1 and
// e..P−1, and the next call's tokens sit at b.. (positions(), next_position()).
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
  // Drops positions [begin, end) of every layer; the next call's tokens then
  // sit at begin.. (end = length(): Fast-dLLM's prefix cache; end < length():
  // its dual cache, which keeps the suffix at its own positions and takes no
  // stores afterwards).
  void drop(std::int64_t begin, std::int64_t end);
  // The position of the next call's first token: length(), or `begin` after drop().
  std::int64_t next_position() const { return gap_ ? next_ : length(); }
  // (P + n) int64 with `options`: the positions of layer l's cached keys,
  // then those of a call's n tokens (the rotary embedding's positions).
  at::Tensor positions(std::int64_t layer, std::int64_t n, const at::TensorOptions& options) const;
  bool empty() const { return length() == 0; }

 private:
  std::vector<at::Tensor> keys_, values_;
  bool gap_ = false;       // a dual-cache drop: positions_ holds the cached positions
  std::int64_t next_ = 0;  // with gap_: the next call's first position
  at::Tensor positions_;   // with gap_: (P) int64 cached positions (on the keys' device)
};

}  // namespace unmask
