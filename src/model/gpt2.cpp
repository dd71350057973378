// GPT-2 in HF's module layout (transformers models/gpt2/modeling_gpt2.py:
// GPT2Block, GPT2Attention, GPT2MLP, Conv1D), causal self-attention through
// the shared SDPA helper.
#include "unmask/model/gpt2.h"

#include <torch/torch.h>

#include <cmath>
#include <tuple>

#include "unmask/model/attention.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

namespace nn = torch::nn;
constexpr double kLayerNormEps = 1e-5;  // HF GPT2Config.layer_norm_epsilon
constexpr double kInitStd = 0.02;       // HF GPT2Config.initializer_range

// HF Conv1D: y = x W + b with W stored (in, out), the transpose of nn.Linear.
struct Conv1DImpl : nn::Module {
  Conv1DImpl(std::int64_t in, std::int64_t out) {
    weight = register_parameter("weight", torch::empty({in, out}));
    bias = register_parameter("bias", torch::zeros({out}));
  }
  at::Tensor forward(const at::Tensor& x) {  // (..., in) → (..., out)
    return torch::matmul(x, weight) + bias;
  }
  at::Tensor weight, bias;
};
TORCH_MODULE(Conv1D);

nn::LayerNorm layer_norm(std::int64_t hidden) {
  return nn::LayerNorm(nn::LayerNormOptions({hidden}).eps(kLayerNormEps));
}

struct AttentionImpl : nn::Module {
  explicit AttentionImpl(std::int64_t hidden) {
    c_attn = register_module("c_attn", Conv1D(hidden, 3 * hidden));
    c_proj = register_module("c_proj", Conv1D(hidden, hidden));
  }
  Conv1D c_attn{nullptr}, c_proj{nullptr};
};
TORCH_MODULE(Attention);

struct MlpImpl : nn::Module {
  MlpImpl(std::int64_t hidden, std::int64_t inner) {
    c_fc = register_module("c_fc", Conv1D(hidden, inner));
    c_proj = register_module("c_proj", Conv1D(inner, hidden));
  }
  Conv1D c_fc{nullptr}, c_proj{nullptr};
};
TORCH_MODULE(Mlp);

struct BlockImpl : nn::Module {
  BlockImpl(std::int64_t hidden, std::int64_t heads, std::int64_t inner) : heads(heads) {
    ln_1 = register_module("ln_1", layer_norm(hidden));
    attn = register_module("attn", Attention(hidden));
    ln_2 = register_module("ln_2", layer_norm(hidden));
    mlp = register_module("mlp", Mlp(hidden, inner));
  }
  // h: (B, L, H) → (B, L, H). Residual dropout after each projection, as HF
  // (resid_pdrop), attention-probability dropout inside SDPA (attn_pdrop).
  // With `cache`: also attends to layer `layer`'s cached keys and values,
  // and with `store` appends this call's.
  at::Tensor forward(const at::Tensor& h, const at::Tensor& key_mask, double dropout, KvCache* cache = nullptr,
                     std::int64_t layer = 0, bool store = false) {
    const auto B = h.size(0), L = h.size(1), H = h.size(2), D = H / heads;
    const auto qkv = attn->c_attn->forward(ln_1->forward(h)).split(H, -1);  // 3 × (B, L, H)
    auto split = [&](const at::Tensor& t) { return t.reshape({B, L, heads, D}).transpose(1, 2); };  // (B, nh, L, D)
    at::Tensor k = split(qkv[1]), v = split(qkv[2]);
    if (cache) std::tie(k, v) = cache->extend(layer, k, v, store);
    at::Tensor ctx = self_attention(split(qkv[0]), k, v, key_mask, /*causal=*/true, dropout, is_training());
    ctx = ctx.transpose(1, 2).reshape({B, L, H});
    at::Tensor x = h + torch::dropout(attn->c_proj->forward(ctx), dropout, is_training());
    const at::Tensor inner = torch::gelu(mlp->c_fc->forward(ln_2->forward(x)), "tanh");  // gelu_new
    return x + torch::dropout(mlp->c_proj->forward(inner), dropout, is_training());
  }
  std::int64_t heads;
  nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  Attention attn{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(Block);

struct TransformerImpl : nn::Module {
  TransformerImpl(std::int64_t vocab, std::int64_t positions, std::int64_t hidden) {
    wte = register_module("wte", nn::Embedding(vocab, hidden));
    wpe = register_module("wpe", nn::Embedding(positions, hidden));
    h = register_module("h", nn::ModuleList());
    ln_f = register_module("ln_f", layer_norm(hidden));
  }
  nn::Embedding wte{nullptr}, wpe{nullptr};
  nn::ModuleList h{nullptr};
  nn::LayerNorm ln_f{nullptr};
};
TORCH_MODULE(Transformer);

// HF GPT2PreTrainedModel._init_weights: N(0, 0.02), zero biases, LayerNorm 1/0,
// and the residual projections (c_proj) scaled by 1/√(2·layers) (GPT-2 §2.3).
void init_gpt2_weights(nn::Module& root, std::int64_t layers) {
  torch::NoGradGuard guard;
  const double residual_std = kInitStd / std::sqrt(2.0 * static_cast<double>(layers));
  for (auto& item : root.named_parameters()) {
    const std::string& name = item.key();
    at::Tensor& p = item.value();
    const bool norm = name.find(".ln_") != std::string::npos;
    const bool is_bias = name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0;
    if (norm) p.fill_(is_bias ? 0.0 : 1.0);
    else if (is_bias) p.zero_();
    else if (name.find("c_proj.weight") != std::string::npos) p.normal_(0.0, residual_std);
    else p.normal_(0.0, kInitStd);
  }
}

}  // namespace

struct Gpt2Backbone::Impl {
  Transformer transformer{nullptr};
};

Gpt2Backbone::Gpt2Backbone(BackboneOptions options)
    : BackboneImpl(std::move(options)), impl_(std::make_shared<Impl>()) {
  const ModelConfig& m = options_.model;
  if (!options_.causal)
    throw Error("model.backbone=gpt2 is a causal decoder: it needs diffusion.objective=ar");
  if (m.time_conditioning != "none")
    throw Error("model.backbone=gpt2 supports model.time_conditioning none (got " + m.time_conditioning + ")");
  const auto inner = static_cast<std::int64_t>(std::llround(m.mlp_ratio * static_cast<double>(m.hidden)));
  impl_->transformer = register_module("transformer", Transformer(options_.vocab_size, m.max_length, m.hidden));
  for (std::int64_t i = 0; i < m.layers; ++i) impl_->transformer->h->push_back(Block(m.hidden, m.heads, inner));
  init_gpt2_weights(*this, m.layers);
}

at::Tensor Gpt2Backbone::forward(const at::Tensor& x, const at::Tensor& /*cond*/, const at::Tensor& pad_mask) {
  return torch::linear(hidden_states(x, pad_mask), impl_->transformer->wte->weight);  // (B, L, V): lm_head tied to wte
}

at::Tensor Gpt2Backbone::hidden_states(const at::Tensor& x, const at::Tensor& pad_mask) {
  const ModelConfig& m = options_.model;
  const auto L = x.size(1);
  if (L > m.max_length)
    throw Error("gpt2: " + std::to_string(L) + " tokens exceed model.max_length = " + std::to_string(m.max_length));
  auto& t = impl_->transformer;
  const at::Tensor positions = torch::arange(L, x.options().dtype(torch::kLong));
  at::Tensor h = t->wte->forward(x) + t->wpe->forward(positions).unsqueeze(0);  // (B, L, H)
  h = torch::dropout(h, m.dropout, is_training());  // embd_pdrop
  for (const auto& block : *t->h) h = block->as<BlockImpl>()->forward(h, pad_mask, m.dropout);
  return t->ln_f->forward(h);  // (B, L, H)
}

at::Tensor Gpt2Backbone::forward_cached(const at::Tensor& x, const at::Tensor& /*cond*/, KvCache& cache, bool store,
                                        bool /*causal_within: always*/) {
  const std::int64_t start = cache.next_position(), L = x.size(1);
  if (start + L > options_.model.max_length)
    throw Error("gpt2: position " + std::to_string(start + L) + " exceeds model.max_length = " +
                std::to_string(options_.model.max_length));
  auto& t = impl_->transformer;
  const at::Tensor positions = torch::arange(start, start + L, x.options().dtype(torch::kLong));
  at::Tensor h = t->wte->forward(x) + t->wpe->forward(positions).unsqueeze(0);  // (B, n, H)
  std::int64_t layer = 0;
  for (const auto& block : *t->h) h = block->as<BlockImpl>()->forward(h, at::Tensor(), 0.0, &cache, layer++, store);
  return torch::linear(t->ln_f->forward(h), t->wte->weight);  // (B, n, V)
}

}  // namespace unmask
