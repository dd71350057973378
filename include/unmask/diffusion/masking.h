// Pieces shared by the objectives: time draws, the absorbing corruption, and
// the SUBS parameterisation (MDLM §3.2).
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

namespace unmask {

// n times in [eps, 1): t_i = (1 − eps)·u_i + eps with u_i uniform, or with
// antithetic (stratified) draws u_i = (v_i + i)/n, exactly one per stratum
// [i/n, (i+1)/n) (MDLM diffusion.py _sample_t). Float64 (n) on `device`;
// drawn on the generator's device, so a CPU generator makes the draws
// independent of where the model runs.
at::Tensor sample_times(std::int64_t n, bool antithetic, double eps, at::Generator& gen, const at::Device& device);

// Replaces real tokens by `mask_id` with probability 1 − keep (keep: (B, L) or
// broadcastable); positions where `protect` is true (may be undefined) and
// padding are never masked. Returns {x_t, masked}.
std::pair<at::Tensor, at::Tensor> mask_tokens(const at::Tensor& x0, const at::Tensor& keep, const at::Tensor& pad_mask,
                                              std::int64_t mask_id, at::Generator& gen,
                                              const at::Tensor& protect = {});

// log p_θ(· | x_t) with the [MASK] logit set to −∞ (zero-masking), float32. (B, L, V)
at::Tensor log_probs_without_mask(const at::Tensor& logits, std::int64_t mask_id);

// The same for a sampler's fresh logits, which it consumes: the float32 copy
// is made (bf16) or the logits reused (float32), the bf16 logits are let go,
// then the [MASK] column and the log-softmax are done in place, an eighth of
// the rows at a time. Peak: the logits plus one float32 (B, L, V), i.e. three
// bf16 logits tensors (docs/GPU.md). Bitwise the same values as
// log_probs_without_mask. (B, L, V) → (B, L, V) float32
at::Tensor log_probs_without_mask_consuming(at::Tensor&& logits, std::int64_t mask_id);

// −log p(x0) per position from log-probabilities (B, L, V) → (B, L).
at::Tensor token_nll(const at::Tensor& log_probs, const at::Tensor& x0);

}  // namespace unmask
