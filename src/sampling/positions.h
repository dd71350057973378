// The positions of a canvas where a sampling step draws tokens (internal to
// the samplers). Two ways to the same numbers, since every draw is a pure
// function of (sample, site, position) (counter_rng.h):
//   gathered: the flat indices of the positions (one `nonzero`) and only
//     their rows computed. The cheapest on the CPU, where reading a count
//     back costs nothing; on CUDA it would be a host synchronisation.
//   dense: every position's row computed and the result kept only where
//     wanted (`where`). No host synchronisation, fixed shapes: the CUDA path,
//     and what a CUDA graph can capture.
// Either way the number of tensor operations does not depend on N.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace unmask::sampling {

class Positions {
 public:
  // which: (N, L) bool.
  Positions(const at::Tensor& which, bool dense);
  // (N, L, ...) → (R, ...): the rows at the positions (dense: all N·L rows).
  at::Tensor rows(const at::Tensor& t) const;
  // `into` (N, L) with `values` (R, as from `rows`) at the positions; a new tensor.
  at::Tensor put(const at::Tensor& values, const at::Tensor& into) const;
  // R, the rows at the positions (dense: N·L).
  std::int64_t count() const;
  // f(rows, first, n) over the positions' rows of `t` (N, L, ...) in chunks
  // of at most `chunk` rows (rows: (n, ...), rows first … first + n − 1 of
  // `rows(t)`) → each of f's results concatenated along dim 0, as if f had
  // run on all R rows at once. Bounds the memory of a step's draws: only one
  // chunk's rows (gathered: copied) and temporaries live at a time.
  using RowsFn = std::function<std::vector<at::Tensor>(const at::Tensor& rows, std::int64_t first, std::int64_t n)>;
  std::vector<at::Tensor> map_rows(const at::Tensor& t, std::int64_t chunk, const RowsFn& f) const;

 private:
  at::Tensor which_;  // (N, L) bool
  at::Tensor flat_;   // (R) int64 flat indices (gathered only)
  bool dense_;
};

}  // namespace unmask::sampling
