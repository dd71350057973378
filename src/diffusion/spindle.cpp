// Spindle schedule and the token statistics it needs.
#include "unmask/diffusion/spindle.h"

#include <torch/torch.h>

#include <cmath>

#include "unmask/data/dataset.h"
#include "unmask/util/error.h"

namespace unmask {

std::vector<std::int64_t> count_tokens(const ShardedSplit& split) {
  std::vector<std::int64_t> counts(static_cast<std::size_t>(split.vocab_size()), 0);
  for (std::size_t s = 0; s < split.num_shards(); ++s) {
    const ShardReader& shard = split.shard(s);
    for (std::uint64_t i = 0; i < shard.num_tokens(); ++i) {
      const auto id = shard.token(i);
      if (id >= counts.size()) throw Error(shard.path().string() + ": token id outside the vocabulary");
      ++counts[id];
    }
  }
  return counts;
}

at::Tensor spindle_token_weights(const std::vector<std::int64_t>& counts, std::int64_t pad_id) {
  if (counts.empty()) throw Error("spindle schedule: empty token counts");
  at::Tensor c = torch::tensor(counts, torch::kFloat64);
  at::Tensor w = torch::log(c + 1);
  const double max = w.max().item<double>();
  if (max <= 0) throw Error("spindle schedule: the token counts are all zero");
  w = w / max;
  if (pad_id >= 0 && pad_id < w.size(0)) w[pad_id] = 0.0;
  return w.to(torch::kFloat32);
}

SpindleSchedule::SpindleSchedule(double lambda, at::Tensor token_weights)
    : lambda_(lambda), weights_(std::move(token_weights)) {
  if (lambda < 0 || lambda >= 1 / M_PI)
    throw Error("diffusion.spindle_lambda must be in [0, 1/pi) so the keep probability decreases in t");
  if (weights_.dim() != 1) throw Error("spindle schedule: token weights must be a vector over the vocabulary");
}

at::Tensor SpindleSchedule::alpha(const at::Tensor& t) const { return 1 - t; }

at::Tensor SpindleSchedule::loss_weight(const at::Tensor& t) const { return 1 / t; }

const at::Tensor& SpindleSchedule::weights_on(const at::Device& device) const {
  if (weights_.device() == device) return weights_;
  if (!device_weights_.defined() || device_weights_.device() != device) device_weights_ = weights_.to(device);
  return device_weights_;
}

at::Tensor SpindleSchedule::token_alpha(const at::Tensor& t, const at::Tensor& x0, const at::Tensor& pad_mask) const {
  const at::Tensor w = weights_on(x0.device()).index_select(0, x0.reshape(-1)).view(x0.sizes());  // (B, L)
  at::Tensor real = pad_mask.defined() ? pad_mask.to(w.scalar_type()) : torch::ones_like(w);
  const at::Tensor mean = (w * real).sum(1, true) / real.sum(1, true).clamp_min(1);  // (B, 1)
  const at::Tensor centred = (w - mean) * real;                                       // w̃, 0 at padding
  const at::Tensor tt = t.to(w.scalar_type()).view({-1, 1});                          // (B, 1)
  at::Tensor a = torch::clamp(1 - tt + lambda_ * torch::sin(M_PI * tt) * centred, 0.0, 0.999);
  // t = 0 is the data itself and t = 1 the all-[MASK] prior, exactly.
  a = torch::where(tt >= 1, torch::zeros_like(a), a);
  return torch::where(tt <= 0, torch::ones_like(a), a);
}

}  // namespace unmask
