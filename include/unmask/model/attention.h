// Multi-head self-attention through at::scaled_dot_product_attention with a
// boolean key-padding mask (true = attend) and an optional causal mask.
#pragma once

#include <ATen/core/Tensor.h>

namespace unmask {

// q: (B, H, Lq, D); k, v: (B, H, Lk, D). key_mask: (B, Lk) bool or undefined
// (no padding). causal: query i (the last Lq of the Lk positions) sees keys
// up to its own position. attn_mask: (Lq, Lk) bool, true = attend, or
// undefined (block diffusion's pattern, diffusion/block_mask.h). Returns
// (B, H, Lq, D). Never passes is_causal together with a mask: everything is
// combined into one boolean mask instead.
at::Tensor self_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& key_mask,
                          bool causal, double dropout, bool training, const at::Tensor& attn_mask = {});

}  // namespace unmask
