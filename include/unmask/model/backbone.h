// A backbone maps noisy tokens (and the diffusion time) to logits over the
// vocabulary; it knows nothing of objectives or samplers. Backbones are
// registered by name (`model.backbone`: bert | dit | gpt2).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "unmask/config.h"
#include "unmask/model/kv_cache.h"
#include "unmask/tokenizer/tokenizer.h"

namespace unmask {

struct BackboneOptions {
  ModelConfig model;
  std::int64_t vocab_size = 0;
  bool causal = false;     // AR baseline: attention never looks forward
  std::int64_t steps = 0;  // diffusion.T (time-embedding tables and periods; 0 = continuous)
};

class BackboneImpl : public torch::nn::Module {
 public:
  // x: (B, L) int64 token ids; cond: (B) float time/noise level for
  // time-conditioned models (ignored when model.time_conditioning = none);
  // pad_mask: (B, L) bool, true at real tokens, or undefined. Returns (B, L, V).
  virtual at::Tensor forward(const at::Tensor& x, const at::Tensor& cond, const at::Tensor& pad_mask) = 0;
  // The logits of `forward` at some positions only: rows (M) int64 flat
  // indices into B·L → (M, V). Backbones override it to run their output head
  // (BERT's MLM transform and decoder, DiT's final adaLN layer) on those M rows
  // instead of all B·L: the vocabulary projection is most of a small model's
  // step. The default computes every row and selects.
  virtual at::Tensor forward_rows(const at::Tensor& x, const at::Tensor& cond, const at::Tensor& pad_mask,
                                  const at::Tensor& rows);
  // Block diffusion (BD3-LM): the logits of x_t (B, L) with each block
  // conditioned on the clean blocks of x0 (B, L) before it, from one forward
  // over x_t ⊕ x_0 (model/block_input.h). (B, L, V), or (M, V) at `rows`
  // (flat indices into B·L) when defined. Default: Error (unsupported).
  virtual at::Tensor forward_blocks(const at::Tensor& x_t, const at::Tensor& x0, const at::Tensor& cond,
                                    const at::Tensor& pad_mask, std::int64_t block_size, const at::Tensor& rows);
  // Cached decoding (model/kv_cache.h): x (B, n) at positions cache.next_position()
  // + 0..n−1, attending to every cached position and among themselves (all of
  // them: a block of BD3-LM; causal_within: earlier ones only, AR). Returns
  // (B, n, V); with `store`, their keys and values join the cache. Default:
  // Error; has_kv_cache() says whether a backbone has it.
  virtual at::Tensor forward_cached(const at::Tensor& x, const at::Tensor& cond, KvCache& cache, bool store,
                                    bool causal_within);
  virtual bool has_kv_cache() const { return false; }
  const BackboneOptions& options() const { return options_; }

 protected:
  explicit BackboneImpl(BackboneOptions options) : options_(std::move(options)) {}
  BackboneOptions options_;
};

using Backbone = std::shared_ptr<BackboneImpl>;

Backbone make_backbone(const BackboneOptions& options);

// The rows of the model's embedding and output layer: model.vocab_size, or the
// tokenizer's vocabulary when it is 0. A causal (ar) model may have fewer rows
// than its tokenizer (GPT-2's 50,257 beside the appended [MASK]) as long as
// PAD, UNK, BOS and EOS lie below them; any other difference is an error.
std::int64_t model_vocab_size(const ModelConfig& m, std::int64_t tokenizer_vocab, bool causal,
                              const SpecialTokens& special);
std::vector<std::string> backbone_names();

}  // namespace unmask
