// Gathered or dense rows of a sampling step (positions.h).
#include "positions.h"

#include <torch/torch.h>

#include <algorithm>

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

std::int64_t Positions::count() const { return dense_ ? which_.numel() : flat_.size(0); }

std::vector<at::Tensor> Positions::map_rows(const at::Tensor& t, std::int64_t chunk, const RowsFn& f) const {
  const at::Tensor flat = t.flatten(0, 1);  // (N·L, ...)
  const std::int64_t total = count();
  auto rows_of = [&](std::int64_t first, std::int64_t n) {
    return dense_ ? flat.narrow(0, first, n) : flat.index_select(0, flat_.narrow(0, first, n));
  };
  if (total <= chunk) return f(rows_of(0, total), 0, total);
  std::vector<std::vector<at::Tensor>> parts;
  for (std::int64_t first = 0; first < total; first += chunk) {
    const std::int64_t n = std::min(chunk, total - first);
    parts.push_back(f(rows_of(first, n), first, n));
  }
  std::vector<at::Tensor> out;
  for (std::size_t k = 0; k < parts.front().size(); ++k) {
    std::vector<at::Tensor> pieces;
    for (const auto& p : parts) pieces.push_back(p[k]);
    out.push_back(torch::cat(pieces));
  }
  return out;
}

}  // namespace unmask::sampling
