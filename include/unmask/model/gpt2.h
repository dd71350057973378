// The `gpt2` backbone: GPT-2 (Radford et al. 2019) as HF GPT2LMHeadModel
// computes it — learned absolute positions, pre-LayerNorm blocks (ε 1e-5),
// fused QKV and MLP projections stored as Conv1D (weight (in, out)), the tanh
// GELU ("gelu_new"), a final LayerNorm and the output layer tied to the token
// embedding. Parameter names are HF's (transformer.wte, transformer.h.N.*,
// transformer.ln_f), so `unmask import hf` copies GPT-2 weights one-to-one.
// Causal only: it is the AR scorer of gen-perplexity (MDLM, SEDD, BD3-LM score
// samples with GPT-2) and an AR baseline (diffusion.objective=ar).
#pragma once

#include "unmask/model/backbone.h"

namespace unmask {

class Gpt2Backbone : public BackboneImpl {
 public:
  explicit Gpt2Backbone(BackboneOptions options);
  // x: (B, L); cond is ignored; pad_mask (B, L) true at real tokens or
  // undefined. Returns (B, L, V).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cond, const at::Tensor& pad_mask) override;
  // The final hidden states (after ln_f), (B, L, H): HF's hidden_states[-1],
  // the features MAUVE clusters (eval/mauve.h).
  at::Tensor hidden_states(const at::Tensor& x, const at::Tensor& pad_mask);
  at::Tensor forward_cached(const at::Tensor& x, const at::Tensor& cond, KvCache& cache, bool store,
                            bool causal_within) override;
  bool has_kv_cache() const override { return true; }

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace unmask
