// The backbone registry.
#include "unmask/model/backbone.h"

#include <torch/torch.h>

#include <functional>

#include "unmask/model/bert.h"
#include "unmask/model/dit.h"
#include "unmask/model/gpt2.h"
#include "unmask/registry.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

using BackboneFactory = std::function<Backbone(const BackboneOptions&)>;

const Registry<BackboneFactory>& registry() {
  static const Registry<BackboneFactory> r = [] {
    Registry<BackboneFactory> reg("backbone");
    reg.add("bert", [](const BackboneOptions& o) { return std::make_shared<BertBackbone>(o); });
    reg.add("dit", [](const BackboneOptions& o) { return std::make_shared<DitBackbone>(o); });
    reg.add("gpt2", [](const BackboneOptions& o) { return std::make_shared<Gpt2Backbone>(o); });
    return reg;
  }();
  return r;
}

}  // namespace

at::Tensor BackboneImpl::forward_rows(const at::Tensor& x, const at::Tensor& cond, const at::Tensor& pad_mask,
                                     const at::Tensor& rows) {
  return forward(x, cond, pad_mask).flatten(0, 1).index_select(0, rows);  // (M, V)
}

at::Tensor BackboneImpl::forward_blocks(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                       std::int64_t, const at::Tensor&) {
  throw Error("model.backbone=" + options_.model.backbone +
              " does not support block diffusion (diffusion.objective=bd3lm: use dit or bert)");
}

at::Tensor BackboneImpl::forward_cached(const at::Tensor&, const at::Tensor&, KvCache&, bool, bool) {
  throw Error("model.backbone=" + options_.model.backbone + " has no KV cache");
}

Backbone make_backbone(const BackboneOptions& options) {
  if (options.vocab_size < 1) throw Error("backbone needs a positive vocabulary size");
  return registry().get(options.model.backbone)(options);
}

std::int64_t model_vocab_size(const ModelConfig& m, std::int64_t tokenizer_vocab, bool causal,
                              const SpecialTokens& special) {
  if (m.vocab_size == 0 || m.vocab_size == tokenizer_vocab) return tokenizer_vocab;
  const std::int64_t top = std::max({special.pad, special.unk, special.bos, special.eos});
  if (causal && m.vocab_size < tokenizer_vocab && top < m.vocab_size) return m.vocab_size;
  throw Error("model.vocab_size (" + std::to_string(m.vocab_size) + ") does not match the tokenizer's vocabulary (" +
              std::to_string(tokenizer_vocab) + "); valid: 0 or " + std::to_string(tokenizer_vocab) +
              (causal ? ", or fewer rows above every special id but [MASK] (" + std::to_string(top) + ")" : ""));
}

std::vector<std::string> backbone_names() { return registry().names(); }

}  // namespace unmask
