// Attention mask construction and the SDPA call.
#include "unmask/model/attention.h"

#include <ATen/ATen.h>

namespace unmask {

at::Tensor self_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& key_mask,
                          bool causal, double dropout, bool training) {
  const double p = training ? dropout : 0.0;
  if (!key_mask.defined()) return at::scaled_dot_product_attention(q, k, v, {}, p, causal);
  const std::int64_t L = q.size(2);
  at::Tensor mask = key_mask.view({key_mask.size(0), 1, 1, L});  // (B, 1, 1, L)
  if (causal) {
    const at::Tensor lower = at::ones({L, L}, key_mask.options()).tril();  // (L, L)
    mask = mask.logical_and(lower);  // (B, 1, L, L)
  }
  return at::scaled_dot_product_attention(q, k, v, mask, p, false);
}

}  // namespace unmask
