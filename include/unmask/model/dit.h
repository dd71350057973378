// MDLM's DiT backbone (Sahoo et al. 2024, models/dit.py): pre-LN blocks with
// rotary position embedding, adaLN shift/scale/gate from an embedding of the
// noise level σ, LayerNorm without bias, zero-initialised modulations and
// output layer (so the initial prediction is uniform). Parameter names follow
// MDLM's (vocab_embed.embedding, sigma_map.mlp.*, blocks.N.*, output_layer.*).
#pragma once

#include <utility>

#include "unmask/model/backbone.h"

namespace unmask {

class DitBackbone : public BackboneImpl {
 public:
  explicit DitBackbone(BackboneOptions options);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cond, const at::Tensor& pad_mask) override;
  at::Tensor forward_rows(const at::Tensor& x, const at::Tensor& cond, const at::Tensor& pad_mask,
                          const at::Tensor& rows) override;
  at::Tensor forward_blocks(const at::Tensor& x_t, const at::Tensor& x0, const at::Tensor& cond,
                            const at::Tensor& pad_mask, std::int64_t block_size, const at::Tensor& rows) override;
  at::Tensor forward_cached(const at::Tensor& x, const at::Tensor& cond, KvCache& cache, bool store,
                            bool causal_within) override;
  bool has_kv_cache() const override { return true; }

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  // (B, L, H) last block's output and (B, C) conditioning.
  // positions (L) for the rotary embedding and attn_mask (L, L): undefined
  // for an ordinary sequence, set for block diffusion's x_t ⊕ x_0.
  // With `cache`: cached decoding (forward_cached), causal_within in place of
  // the model's own causality.
  std::pair<at::Tensor, at::Tensor> trunk(const at::Tensor& x, const at::Tensor& cond, const at::Tensor& pad_mask,
                                          const at::Tensor& positions = {}, const at::Tensor& attn_mask = {},
                                          KvCache* cache = nullptr, bool store = false, bool causal_within = false);
};

// Rotary position embedding (Su et al. 2021) in the rotate-half layout:
// x·cos + rotate_half(x)·sin with θ_k = base^(−2k/D). x: (B, H, L, D);
// positions (L) int64, undefined = 0..L−1.
at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& positions = {}, double base = 10000.0);

}  // namespace unmask
