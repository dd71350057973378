// BERT encoder and MLM head in HF's module layout, with DiffusionBERT's
// layer-wise and prefix time injection.
#include "unmask/model/bert.h"

#include <torch/torch.h>

#include <tuple>

#include "unmask/model/attention.h"
#include "unmask/model/block_input.h"
#include "unmask/model/time_embedding.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

namespace nn = torch::nn;
constexpr double kInitStd = 0.02;  // HF BertConfig.initializer_range

// What HF's BertConfig and RobertaConfig (roberta-base) differ in.
struct Variant {
  double eps;                    // layer_norm_eps
  std::int64_t position_offset;  // RoBERTa: padding_idx + 1 = 2
  std::int64_t token_types;      // type_vocab_size
};
Variant variant_of(const std::string& name) {
  if (name == "roberta") return {1e-5, 2, 1};
  return {1e-12, 0, 2};
}
nn::LayerNorm layer_norm(std::int64_t hidden, double eps) {
  return nn::LayerNorm(nn::LayerNormOptions({hidden}).eps(eps));
}

struct EmbeddingsImpl : nn::Module {
  EmbeddingsImpl(std::int64_t vocab, std::int64_t positions, std::int64_t hidden, double dropout, const Variant& v)
      : dropout(dropout), offset(v.position_offset) {
    word_embeddings = register_module("word_embeddings", nn::Embedding(vocab, hidden));
    position_embeddings = register_module("position_embeddings", nn::Embedding(positions + offset, hidden));
    token_type_embeddings = register_module("token_type_embeddings", nn::Embedding(v.token_types, hidden));
    LayerNorm = register_module("LayerNorm", layer_norm(hidden, v.eps));
  }
  // words: (B, L, H) already looked up (so a time token can be spliced in).
  // RoBERTa numbers positions from padding_idx + 1 (HF
  // create_position_ids_from_input_ids); it gives padding tokens position
  // padding_idx instead, which changes only the outputs at padding.
  // positions: (L) int64, undefined = 0..L−1 (block diffusion repeats them).
  at::Tensor forward(const at::Tensor& words, const at::Tensor& positions = {}) {
    const auto L = words.size(1);
    const at::Tensor pos = positions.defined() ? positions + offset
                                               : torch::arange(offset, offset + L, words.options().dtype(torch::kLong));
    at::Tensor h = words + position_embeddings->forward(pos).unsqueeze(0) + token_type_embeddings->weight[0];
    return torch::dropout(LayerNorm->forward(h), dropout, is_training());
  }
  double dropout;
  std::int64_t offset;
  nn::Embedding word_embeddings{nullptr}, position_embeddings{nullptr}, token_type_embeddings{nullptr};
  nn::LayerNorm LayerNorm{nullptr};
};
TORCH_MODULE(Embeddings);

struct SelfAttentionImpl : nn::Module {
  explicit SelfAttentionImpl(std::int64_t hidden) {
    query = register_module("query", nn::Linear(hidden, hidden));
    key = register_module("key", nn::Linear(hidden, hidden));
    value = register_module("value", nn::Linear(hidden, hidden));
  }
  nn::Linear query{nullptr}, key{nullptr}, value{nullptr};
};
TORCH_MODULE(SelfAttention);

// dense → dropout → LayerNorm(· + residual): HF BertSelfOutput and BertOutput.
struct DenseNormImpl : nn::Module {
  DenseNormImpl(std::int64_t in, std::int64_t hidden, double eps) {
    dense = register_module("dense", nn::Linear(in, hidden));
    LayerNorm = register_module("LayerNorm", layer_norm(hidden, eps));
  }
  at::Tensor forward(const at::Tensor& x, const at::Tensor& residual, double dropout) {
    return LayerNorm->forward(torch::dropout(dense->forward(x), dropout, is_training()) + residual);
  }
  nn::Linear dense{nullptr};
  nn::LayerNorm LayerNorm{nullptr};
};
TORCH_MODULE(DenseNorm);

struct AttentionImpl : nn::Module {
  AttentionImpl(std::int64_t hidden, double eps) {
    self = register_module("self", SelfAttention(hidden));
    output = register_module("output", DenseNorm(hidden, hidden, eps));
  }
  SelfAttention self{nullptr};
  DenseNorm output{nullptr};
};
TORCH_MODULE(Attention);

struct DenseOnlyImpl : nn::Module {
  DenseOnlyImpl(std::int64_t in, std::int64_t out) { dense = register_module("dense", nn::Linear(in, out)); }
  nn::Linear dense{nullptr};
};
TORCH_MODULE(DenseOnly);

struct LayerImpl : nn::Module {
  LayerImpl(std::int64_t hidden, std::int64_t heads, std::int64_t intermediate_size, bool layerwise_time, double eps)
      : heads(heads) {
    attention = register_module("attention", Attention(hidden, eps));
    intermediate = register_module("intermediate", DenseOnly(hidden, intermediate_size));
    output = register_module("output", DenseNorm(intermediate_size, hidden, eps));
    if (layerwise_time)
      timestep_embedding = register_module(
          "timestep_embedding",
          nn::Sequential(nn::Linear(hidden, 2 * hidden), nn::ReLU(), nn::Linear(2 * hidden, hidden)));
  }
  // h: (B, L, H); time: (B, H) sinusoid or undefined.
  // With `cache`: also attends to layer `layer`'s cached keys and values
  // (kv_cache.h), and with `store` appends this call's.
  at::Tensor forward(const at::Tensor& h, const at::Tensor& key_mask, const at::Tensor& time, bool causal,
                     double dropout, const at::Tensor& attn_mask, KvCache* cache = nullptr, std::int64_t layer = 0,
                     bool store = false) {
    const auto B = h.size(0), L = h.size(1), H = h.size(2), D = H / heads;
    auto split = [&](const at::Tensor& t) { return t.view({B, L, heads, D}).transpose(1, 2); };  // (B, nh, L, D)
    auto& sa = attention->self;
    at::Tensor k = split(sa->key->forward(h)), v = split(sa->value->forward(h));
    if (cache) std::tie(k, v) = cache->extend(layer, k, v, store);
    at::Tensor ctx = self_attention(split(sa->query->forward(h)), k, v, key_mask, causal, dropout, is_training(),
                                    attn_mask);
    ctx = ctx.transpose(1, 2).reshape({B, L, H});
    at::Tensor a = attention->output->forward(ctx, h, dropout);  // post-LN
    if (timestep_embedding) a = a + timestep_embedding->forward(time).unsqueeze(1);
    const at::Tensor inner = torch::gelu(intermediate->dense->forward(a));  // exact (erf) GELU, as HF "gelu"
    return output->forward(inner, a, dropout);
  }
  std::int64_t heads;
  Attention attention{nullptr};
  DenseOnly intermediate{nullptr};
  DenseNorm output{nullptr};
  nn::Sequential timestep_embedding{nullptr};
};
TORCH_MODULE(Layer);

struct EncoderImpl : nn::Module {
  EncoderImpl() { layer = register_module("layer", nn::ModuleList()); }
  nn::ModuleList layer{nullptr};
};
TORCH_MODULE(Encoder);

struct BertModelImpl : nn::Module {
  BertModelImpl(std::int64_t vocab, std::int64_t positions, std::int64_t hidden, double dropout, const Variant& v) {
    embeddings = register_module("embeddings", Embeddings(vocab, positions, hidden, dropout, v));
    encoder = register_module("encoder", Encoder());
  }
  Embeddings embeddings{nullptr};
  Encoder encoder{nullptr};
};
TORCH_MODULE(BertModel);

struct TransformImpl : nn::Module {
  TransformImpl(std::int64_t hidden, double eps) {
    dense = register_module("dense", nn::Linear(hidden, hidden));
    LayerNorm = register_module("LayerNorm", layer_norm(hidden, eps));
  }
  nn::Linear dense{nullptr};
  nn::LayerNorm LayerNorm{nullptr};
};
TORCH_MODULE(Transform);

struct PredictionsImpl : nn::Module {
  PredictionsImpl(std::int64_t hidden, std::int64_t vocab, bool tied, double eps) {
    transform = register_module("transform", Transform(hidden, eps));
    bias = register_parameter("bias", torch::zeros({vocab}));
    if (!tied) {
      auto decoder_module = std::make_shared<nn::Module>();
      decoder = decoder_module->register_parameter("weight", torch::empty({vocab, hidden}));
      register_module("decoder", decoder_module);
    }
  }
  Transform transform{nullptr};
  at::Tensor bias, decoder;  // decoder undefined when tied to the word embeddings
};
TORCH_MODULE(Predictions);

struct ClsImpl : nn::Module {
  ClsImpl(std::int64_t hidden, std::int64_t vocab, bool tied, double eps) {
    predictions = register_module("predictions", Predictions(hidden, vocab, tied, eps));
  }
  Predictions predictions{nullptr};
};
TORCH_MODULE(Cls);

// HF BertPreTrainedModel._init_weights: N(0, 0.02) for linear and embedding
// weights, zero biases, LayerNorm weight 1 and bias 0.
void init_bert_weights(nn::Module& root) {
  torch::NoGradGuard guard;
  for (auto& item : root.named_parameters()) {
    const std::string& name = item.key();
    at::Tensor& p = item.value();
    const bool norm = name.find("LayerNorm") != std::string::npos;
    const bool is_bias = name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0;
    if (norm) p.fill_(is_bias ? 0.0 : 1.0);
    else if (is_bias) p.zero_();
    else p.normal_(0.0, kInitStd);
  }
}

}  // namespace

struct BertBackbone::Impl {
  BertModel bert{nullptr};
  Cls cls{nullptr};
  nn::Embedding time_tokens{nullptr};  // PTE
  std::int64_t steps = 0;
};

BertBackbone::BertBackbone(BackboneOptions options)
    : BackboneImpl(std::move(options)), impl_(std::make_shared<Impl>()) {
  const std::int64_t steps = options_.steps;
  const ModelConfig& m = options_.model;
  const auto& tc = m.time_conditioning;
  if (tc != "none" && tc != "layerwise" && tc != "prefix")
    throw Error("model.backbone=bert supports model.time_conditioning none, layerwise, prefix (got " + tc + ")");
  if (tc == "prefix" && steps < 1)
    throw Error("model.time_conditioning=prefix embeds one token per diffusion step: it needs diffusion.T >= 1");
  impl_->steps = steps;
  const auto intermediate = static_cast<std::int64_t>(std::llround(m.mlp_ratio * static_cast<double>(m.hidden)));
  if (m.variant != "bert" && m.variant != "roberta")
    throw Error("model.variant must be bert or roberta (got " + m.variant + ")");
  Variant variant = variant_of(m.variant);
  if (m.layer_norm_eps > 0) variant.eps = m.layer_norm_eps;  // an imported model's own (config.json layer_norm_eps)
  impl_->bert = register_module("bert", BertModel(options_.vocab_size, m.max_length, m.hidden, m.dropout, variant));
  for (std::int64_t i = 0; i < m.layers; ++i)
    impl_->bert->encoder->layer->push_back(Layer(m.hidden, m.heads, intermediate, tc == "layerwise", variant.eps));
  impl_->cls = register_module("cls", Cls(m.hidden, options_.vocab_size, m.tie_embeddings, variant.eps));
  if (tc == "prefix") impl_->time_tokens = register_module("time_token_embeddings", nn::Embedding(steps, m.hidden));
  init_bert_weights(*this);
}

at::Tensor BertBackbone::encode(const at::Tensor& x, const at::Tensor& cond, const at::Tensor& pad_mask,
                                const at::Tensor& positions, const at::Tensor& attn_mask) {
  const ModelConfig& m = options_.model;
  const auto B = x.size(0);
  const bool prefix = m.time_conditioning == "prefix", layerwise = m.time_conditioning == "layerwise";
  if ((prefix || layerwise) && !cond.defined())
    throw Error("model.time_conditioning=" + m.time_conditioning + " needs the diffusion time");
  at::Tensor words = impl_->bert->embeddings->word_embeddings->forward(x);  // (B, L, H)
  at::Tensor key_mask = pad_mask;
  if (prefix) {
    // Insert the time token after the first token; t0 = cond in 0..T-1.
    const at::Tensor t0 = cond.to(torch::kLong).clamp(0, impl_->steps - 1);
    const at::Tensor time = impl_->time_tokens->forward(t0).unsqueeze(1);  // (B, 1, H)
    words = torch::cat({words.narrow(1, 0, 1), time, words.narrow(1, 1, x.size(1) - 1)}, 1);
    if (key_mask.defined())
      key_mask = torch::cat({key_mask.narrow(1, 0, 1), torch::ones({B, 1}, key_mask.options()),
                             key_mask.narrow(1, 1, x.size(1) - 1)}, 1);
  }
  if (prefix && attn_mask.defined())
    throw Error("model.time_conditioning=prefix inserts a token, which block diffusion's layout does not allow");
  at::Tensor h = impl_->bert->embeddings->forward(words, positions);
  at::Tensor time;
  if (layerwise) time = sinusoidal_embedding(cond, m.hidden, impl_->steps >= 1 ? static_cast<double>(impl_->steps) : 1e4);
  for (const auto& layer : *impl_->bert->encoder->layer)
    h = layer->as<LayerImpl>()->forward(h, key_mask, time, options_.causal, m.dropout, attn_mask);
  if (prefix) h = torch::cat({h.narrow(1, 0, 1), h.narrow(1, 2, x.size(1) - 1)}, 1);
  return h;
}

at::Tensor BertBackbone::head(const at::Tensor& hidden) {
  auto& pred = impl_->cls->predictions;
  const at::Tensor& h_in = hidden;
  const at::Tensor h = pred->transform->LayerNorm->forward(torch::gelu(pred->transform->dense->forward(h_in)));
  const at::Tensor& decoder = pred->decoder.defined() ? pred->decoder : impl_->bert->embeddings->word_embeddings->weight;
  return torch::linear(h, decoder, pred->bias);  // (..., V)
}

at::Tensor BertBackbone::forward(const at::Tensor& x, const at::Tensor& cond, const at::Tensor& pad_mask) {
  return head(encode(x, cond, pad_mask));  // (B, L, V)
}

at::Tensor BertBackbone::forward_blocks(const at::Tensor& x_t, const at::Tensor& x0, const at::Tensor& cond,
                                       const at::Tensor& pad_mask, std::int64_t block_size, const at::Tensor& rows) {
  const BlockInput in = block_input(x_t, x0, pad_mask, block_size);
  const at::Tensor h = encode(in.tokens, cond, in.key_mask, in.positions, in.attn_mask).narrow(1, 0, x_t.size(1));
  return rows.defined() ? head(h.flatten(0, 1).index_select(0, rows)) : head(h);  // (M, V) or (B, L, V)
}

at::Tensor BertBackbone::forward_cached(const at::Tensor& x, const at::Tensor& cond, KvCache& cache, bool store,
                                       bool causal_within) {
  const ModelConfig& m = options_.model;
  if (m.time_conditioning == "prefix")
    throw Error("model.time_conditioning=prefix inserts a token, which cached decoding does not allow");
  const std::int64_t start = cache.next_position();  // the tokens sit at start.. (a dual cache's block: mid-sequence)
  const at::Tensor positions = torch::arange(start, start + x.size(1), x.options().dtype(torch::kLong));
  at::Tensor h = impl_->bert->embeddings->forward(impl_->bert->embeddings->word_embeddings->forward(x), positions);
  at::Tensor time;
  if (m.time_conditioning == "layerwise")
    time = sinusoidal_embedding(cond, m.hidden, impl_->steps >= 1 ? static_cast<double>(impl_->steps) : 1e4);
  std::int64_t layer = 0;
  for (const auto& l : *impl_->bert->encoder->layer)
    h = l->as<LayerImpl>()->forward(h, at::Tensor(), time, causal_within, m.dropout, at::Tensor(), &cache, layer++,
                                    store);
  return head(h);  // (B, n, V)
}

at::Tensor BertBackbone::forward_rows(const at::Tensor& x, const at::Tensor& cond, const at::Tensor& pad_mask,
                                      const at::Tensor& rows) {
  return head(encode(x, cond, pad_mask).flatten(0, 1).index_select(0, rows));  // (M, V)
}

}  // namespace unmask
