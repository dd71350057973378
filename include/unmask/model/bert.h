// The `bert` backbone: a post-LayerNorm BERT encoder with learned absolute
// positions, token-type embedding, exact GELU and the MLM head (dense → GELU →
// LayerNorm → decoder tied to the word embeddings + bias). Parameter names and
// shapes are HF BertForMaskedLM's (bert.embeddings.*, bert.encoder.layer.N.*,
// cls.predictions.*), so HF weights load one-to-one. model.variant=roberta
// gives RobertaForMaskedLM's numbers (positions from 2, LayerNorm ε 1e-5, one
// token type) under the same names; interop/ renames roberta.* and lm_head.*.
//
// Time conditioning (DiffusionBERT, He et al. 2023, §4.3 and its code):
//   layerwise (LTE): each layer adds MLP_l(sinusoid(t)) — Linear(H,2H), ReLU,
//     Linear(2H,H), sinusoid of width H with max period T — to its attention
//     output (after the attention LayerNorm, before the feed-forward block);
//   prefix (PTE): a time token, embedded from a learned table over the T steps,
//     is inserted after the first token; its output is dropped.
#pragma once

#include "unmask/model/backbone.h"

namespace unmask {

class BertBackbone : public BackboneImpl {
 public:
  // options.steps (diffusion.T) sizes the PTE table and is the LTE sinusoid
  // period (0 = continuous time: period 10^4; prefix needs steps >= 1).
  explicit BertBackbone(BackboneOptions options);
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
  at::Tensor encode(const at::Tensor& x, const at::Tensor& cond, const at::Tensor& pad_mask,
                    const at::Tensor& positions = {}, const at::Tensor& attn_mask = {});  // (B, L, H)
  at::Tensor head(const at::Tensor& h);  // (..., H) → (..., V): MLM transform and decoder
};

}  // namespace unmask
