// Attention mask construction and the SDPA call.
#include "unmask/model/attention.h"

#include <ATen/ATen.h>

namespace unmask {

at::Tensor self_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& key_mask,
                          bool causal, double dropout, bool training, const at::Tensor& attn_mask) {
  const double p = training ? dropout : 0.0;
  const std::int64_t Lq = q.size(2), Lk = k.size(2);
  // SDPA's is_causal aligns the triangle top-left; queries that follow cached
  // keys (Lq < Lk) need it bottom-right, so they get an explicit mask.
  if (!key_mask.defined() && !attn_mask.defined() && (!causal || Lq == Lk))
    return at::scaled_dot_product_attention(q, k, v, {}, p, causal);
  at::Tensor mask;  // broadcastable to (B, 1, Lq, Lk), true = attend
  if (key_mask.defined()) mask = key_mask.view({key_mask.size(0), 1, 1, Lk});
  auto combine = [&](const at::Tensor& m) { mask = mask.defined() ? mask.logical_and(m) : m; };
  if (causal) combine(at::ones({Lq, Lk}, q.options().dtype(at::kBool)).tril(Lk - Lq));  // (Lq, Lk)
  if (attn_mask.defined()) combine(attn_mask);
  return at::scaled_dot_product_attention(q, k, v, mask, p, false);
}

}  // namespace unmask
