// Multi-head self-attention through at::scaled_dot_product_attention with a
// boolean key-padding mask (true = attend) and an optional causal mask.
#pragma once

#include <ATen/core/Tensor.h>

namespace unmask {

// q, k, v: (B, H, L, D). key_mask: (B, L) bool or undefined (no padding).
// Returns (B, H, L, D). Never passes is_causal together with a mask: the two
// are combined into one boolean mask instead.
at::Tensor self_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& key_mask,
                          bool causal, double dropout, bool training);

}  // namespace unmask
