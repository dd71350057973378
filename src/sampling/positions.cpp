// Gathered or dense rows of a sampling step (positions.h).
#include "positions.h"

#include <torch/torch.h>

namespace unmask::sampling {

Positions::Positions(const at::Tensor& which, bool dense) : which_(which), dense_(dense) {
  if (!dense_) flat_ = which.reshape({-1}).nonzero().squeeze(1);  // (R)
}

at::Tensor Positions::rows(const at::Tensor& t) const {
  const at::Tensor flat = t.flatten(0, 1);  // (N·L, ...)
  return dense_ ? flat : flat.index_select(0, flat_);
}

at::Tensor Positions::put(const at::Tensor& values, const at::Tensor& into) const {
  if (dense_) return torch::where(which_, values.view(into.sizes()).to(into.scalar_type()), into);
  return into.reshape({-1}).index_copy(0, flat_, values.to(into.scalar_type())).view(into.sizes());
}

}  // namespace unmask::sampling
