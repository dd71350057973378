// DiffusionBERT's spindle schedule (He et al. 2023, Eq. 10–12;
// diffusion_word_freq.py): a per-token keep probability
//   α_k^i = clip(1 − k/T + λ·sin(πk/T)·w̃_i, 0, 0.999),  α_0 = 1,
// with w_i = log(freq_i + 1) / max_j log(freq_j + 1) from training-corpus
// token counts ([PAD] gets 0) and w̃ = w − (mean of w over the sequence's real
// tokens). Frequent (low-information) tokens stay clean longer and are
// generated first. λ < 1/π keeps α decreasing in k; λ = 0 is the D3PM schedule.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "unmask/diffusion/schedule.h"

namespace unmask {

class ShardedSplit;

// Token counts over every shard of a split: (V) int64.
std::vector<std::int64_t> count_tokens(const ShardedSplit& split);

// w_i = log(c_i + 1) / max_j log(c_j + 1), w[pad_id] = 0: (V) float32.
at::Tensor spindle_token_weights(const std::vector<std::int64_t>& counts, std::int64_t pad_id);

class SpindleSchedule : public NoiseSchedule {
 public:
  SpindleSchedule(double lambda, at::Tensor token_weights);
  std::string name() const override { return "spindle"; }
  at::Tensor alpha(const at::Tensor& t) const override;          // the λ = 0 (mean-token) curve 1 − t
  at::Tensor loss_weight(const at::Tensor& t) const override;    // of that curve: 1/t
  at::Tensor token_alpha(const at::Tensor& t, const at::Tensor& x0, const at::Tensor& pad_mask) const override;
  bool per_token() const override { return true; }
  bool discrete_only() const override { return true; }

 private:
  // The weights on `device`, copied there once (a copy per call would be a
  // host transfer inside a sampling step, which a CUDA graph cannot hold).
  const at::Tensor& weights_on(const at::Device& device) const;

  double lambda_;
  at::Tensor weights_;                  // (V)
  mutable at::Tensor device_weights_;   // (V) the last device's copy
};

}  // namespace unmask
