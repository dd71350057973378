// DiT blocks, final layer and forward pass, after MDLM models/dit.py.
#include "unmask/model/dit.h"

#include <torch/torch.h>

#include <cmath>
#include <tuple>

#include "unmask/model/attention.h"
#include "unmask/model/block_input.h"
#include "unmask/model/time_embedding.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

namespace nn = torch::nn;

// LayerNorm without bias, computed in float32 (MDLM's LayerNorm).
struct BiaslessLayerNormImpl : nn::Module {
  explicit BiaslessLayerNormImpl(std::int64_t dim) : dim(dim) { weight = register_parameter("weight", torch::ones({dim})); }
  at::Tensor forward(const at::Tensor& x) {
    return at::layer_norm(x.to(at::kFloat), {dim}, {}, {}, 1e-5) * weight;
  }
  std::int64_t dim;
  at::Tensor weight;
};
TORCH_MODULE(BiaslessLayerNorm);

// x·(1 + scale) + shift; shift, scale: (B, 1, H).
at::Tensor modulate(const at::Tensor& x, const at::Tensor& shift, const at::Tensor& scale) {
  return x * (1 + scale) + shift;
}

at::Tensor zero_linear_init(nn::Linear& linear) {
  torch::NoGradGuard guard;
  linear->weight.zero_();
  if (linear->bias.defined()) linear->bias.zero_();
  return linear->weight;
}

// The rotary embedding's cos and sin at the key positions of one forward,
// built once per forward and shared by every block (the positions are the
// same in every layer). The queries are the last Lq positions.
class RotaryTable {
 public:
  // positions: (P) int64 on the device; D: the head dimension.
  RotaryTable(const at::Tensor& positions, std::int64_t D, double base = 10000.0) {
    const auto opts = positions.options().dtype(at::kFloat);
    const at::Tensor inv_freq = 1.0 / at::pow(base, at::arange(0, D, 2, opts) / static_cast<double>(D));  // (D/2)
    const at::Tensor freqs = at::outer(positions.to(opts), inv_freq);                                 // (P, D/2)
    emb_ = at::cat({freqs, freqs}, -1);                                                               // (P, D)
  }
  // x: (B, H, Lx, D) at the last Lx positions → x·cos + rotate_half(x)·sin.
  at::Tensor rotate(const at::Tensor& x) {
    if (!cos_.defined() || cos_.scalar_type() != x.scalar_type()) {  // once per forward (autocast: bf16)
      cos_ = emb_.cos().to(x.scalar_type());
      sin_ = emb_.sin().to(x.scalar_type());
    }
    const auto P = emb_.size(0), Lx = x.size(-2);
    const at::Tensor cos = cos_.narrow(0, P - Lx, Lx), sin = sin_.narrow(0, P - Lx, Lx);  // (Lx, D)
    const auto halves = x.chunk(2, -1);
    const at::Tensor rotated = at::cat({-halves[1], halves[0]}, -1);  // rotate_half
    return x * cos + rotated * sin;
  }

 private:
  at::Tensor emb_;        // (P, D) float32: position × θ
  at::Tensor cos_, sin_;  // (P, D) in the activations' dtype
};

struct DitBlockImpl : nn::Module {
  DitBlockImpl(std::int64_t hidden, std::int64_t heads, std::int64_t cond_dim, std::int64_t mlp_hidden, double dropout)
      : heads(heads), dropout(dropout) {
    norm1 = register_module("norm1", BiaslessLayerNorm(hidden));
    attn_qkv = register_module("attn_qkv", nn::Linear(nn::LinearOptions(hidden, 3 * hidden).bias(false)));
    attn_out = register_module("attn_out", nn::Linear(nn::LinearOptions(hidden, hidden).bias(false)));
    norm2 = register_module("norm2", BiaslessLayerNorm(hidden));
    mlp = register_module("mlp", nn::Sequential(nn::Linear(hidden, mlp_hidden),
                                                nn::GELU(nn::GELUOptions().approximate("tanh")),
                                                nn::Linear(mlp_hidden, hidden)));
    adaLN_modulation = register_module("adaLN_modulation", nn::Linear(cond_dim, 6 * hidden));
    zero_linear_init(adaLN_modulation);
  }

  // x: (B, L, H), c: (B, C), key_mask: (B, L) bool or undefined; rotary:
  // the table at the keys' positions (L of them, or P + L with a cache) and
  // attn_mask (L, L) bool or undefined: block diffusion's x_t ⊕ x_0 layout.
  // With `cache` (layer `layer` of it): the keys and values of the cached
  // positions (0..P−1, or the prefix and suffix of a dual cache) are
  // attended too, x is at the cache's next positions, and with
  // `store` its (pre-rotary) keys and values are appended.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& c, const at::Tensor& key_mask, bool causal,
                     RotaryTable& rotary, const at::Tensor& attn_mask = {}, KvCache* cache = nullptr,
                     std::int64_t layer = 0, bool store = false) {
    const auto B = x.size(0), L = x.size(1), H = x.size(2);
    const auto mod = adaLN_modulation->forward(c).unsqueeze(1).chunk(6, 2);  // 6 × (B, 1, H)
    const auto &shift_msa = mod[0], &scale_msa = mod[1], &gate_msa = mod[2];
    const auto &shift_mlp = mod[3], &scale_mlp = mod[4], &gate_mlp = mod[5];

    at::Tensor h = modulate(norm1->forward(x), shift_msa, scale_msa);
    const auto qkv = attn_qkv->forward(h).view({B, L, 3, heads, H / heads}).permute({2, 0, 3, 1, 4});  // (3, B, nh, L, D)
    at::Tensor k_raw = qkv[1], v = qkv[2];  // (B, nh, L, D)
    if (cache) std::tie(k_raw, v) = cache->extend(layer, k_raw, v, store);  // (B, nh, P + L, D), keys before rotary
    const at::Tensor q = rotary.rotate(qkv[0]);
    const at::Tensor k = rotary.rotate(k_raw);
    h = self_attention(q, k, v, key_mask, causal, 0.0, is_training(), attn_mask);  // (B, nh, L, D)
    h = h.transpose(1, 2).reshape({B, L, H});
    at::Tensor out = x + gate_msa * torch::dropout(attn_out->forward(h), dropout, is_training());
    h = mlp->forward(modulate(norm2->forward(out), shift_mlp, scale_mlp));
    return out + gate_mlp * torch::dropout(h, dropout, is_training());
  }

  std::int64_t heads;
  double dropout;
  BiaslessLayerNorm norm1{nullptr}, norm2{nullptr};
  nn::Linear attn_qkv{nullptr}, attn_out{nullptr}, adaLN_modulation{nullptr};
  nn::Sequential mlp{nullptr};
};
TORCH_MODULE(DitBlock);

struct DitFinalLayerImpl : nn::Module {
  DitFinalLayerImpl(std::int64_t hidden, std::int64_t vocab, std::int64_t cond_dim) {
    norm_final = register_module("norm_final", BiaslessLayerNorm(hidden));
    linear = register_module("linear", nn::Linear(hidden, vocab));
    adaLN_modulation = register_module("adaLN_modulation", nn::Linear(cond_dim, 2 * hidden));
    zero_linear_init(linear);
    zero_linear_init(adaLN_modulation);
  }
  at::Tensor forward(const at::Tensor& x, const at::Tensor& c) {
    const auto mod = adaLN_modulation->forward(c).unsqueeze(1).chunk(2, 2);  // shift, scale: (B, 1, H)
    return linear->forward(modulate(norm_final->forward(x), mod[0], mod[1]));
  }
  // Rows x (M, H), each with its own conditioning c (M, C) → (M, V).
  at::Tensor rows(const at::Tensor& x, const at::Tensor& c) {
    const auto mod = adaLN_modulation->forward(c).chunk(2, 1);  // shift, scale: (M, H)
    return linear->forward(modulate(norm_final->forward(x), mod[0], mod[1]));
  }
  BiaslessLayerNorm norm_final{nullptr};
  nn::Linear linear{nullptr}, adaLN_modulation{nullptr};
};
TORCH_MODULE(DitFinalLayer);

}  // namespace

at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& positions, double base) {
  const at::Tensor pos = positions.defined() ? positions : at::arange(x.size(-2), x.options().dtype(at::kLong));  // (L)
  RotaryTable table(pos.to(x.device()), x.size(-1), base);
  return table.rotate(x);
}

struct DitBackbone::Impl {
  at::Tensor vocab_embed;  // registered as vocab_embed.embedding
  TimestepEmbedder sigma_map{nullptr};
  nn::ModuleList blocks{nullptr};
  DitFinalLayer output_layer{nullptr};
};

DitBackbone::DitBackbone(BackboneOptions options) : BackboneImpl(std::move(options)), impl_(std::make_shared<Impl>()) {
  const ModelConfig& m = options_.model;
  if (m.time_conditioning != "none" && m.time_conditioning != "adaln")
    throw Error("model.backbone=dit supports model.time_conditioning none, adaln (got " + m.time_conditioning + ")");
  auto embed = std::make_shared<nn::Module>();
  impl_->vocab_embed = embed->register_parameter("embedding", torch::empty({options_.vocab_size, m.hidden}));
  {
    torch::NoGradGuard guard;
    nn::init::kaiming_uniform_(impl_->vocab_embed, std::sqrt(5.0));
  }
  register_module("vocab_embed", embed);
  impl_->sigma_map = register_module("sigma_map", TimestepEmbedder(m.cond_dim));
  impl_->blocks = register_module("blocks", nn::ModuleList());
  const auto mlp_hidden = static_cast<std::int64_t>(std::llround(m.mlp_ratio * static_cast<double>(m.hidden)));
  for (std::int64_t i = 0; i < m.layers; ++i)
    impl_->blocks->push_back(DitBlock(m.hidden, m.heads, m.cond_dim, mlp_hidden, m.dropout));
  impl_->output_layer = register_module("output_layer", DitFinalLayer(m.hidden, options_.vocab_size, m.cond_dim));
}

std::pair<at::Tensor, at::Tensor> DitBackbone::trunk(const at::Tensor& x, const at::Tensor& cond,
                                                     const at::Tensor& pad_mask, const at::Tensor& positions,
                                                     const at::Tensor& attn_mask, KvCache* cache, bool store,
                                                     bool causal_within) {
  at::Tensor h = impl_->vocab_embed.index_select(0, x.reshape(-1)).view({x.size(0), x.size(1), -1});  // (B, L, H)
  // MDLM feeds σ = 0 when time conditioning is off: the adaLN path still runs.
  at::Tensor sigma = options_.model.time_conditioning == "none" || !cond.defined()
                         ? torch::zeros({x.size(0)}, h.options().dtype(at::kFloat))
                         : cond.to(at::kFloat);
  const at::Tensor c = torch::silu(impl_->sigma_map->forward(sigma));  // (B, C)
  const bool causal = cache ? causal_within : options_.causal;
  const std::int64_t L = x.size(1);
  const auto options = h.options().dtype(at::kLong);
  // The keys' positions, the same in every layer: with a cache the cached
  // keys' (P), then x's (L); else `positions` or 0..L−1.
  const at::Tensor key_positions = cache ? cache->positions(0, L, options)
                                   : positions.defined() ? positions
                                                         : at::arange(L, options);
  RotaryTable rotary(key_positions, options_.model.hidden / options_.model.heads);
  std::int64_t layer = 0;
  for (const auto& block : *impl_->blocks)
    h = block->as<DitBlockImpl>()->forward(h, c, pad_mask, causal, rotary, attn_mask, cache, layer++, store);
  return {h, c};
}

at::Tensor DitBackbone::forward(const at::Tensor& x, const at::Tensor& cond, const at::Tensor& pad_mask) {
  const auto [h, c] = trunk(x, cond, pad_mask);
  return impl_->output_layer->forward(h, c);  // (B, L, V)
}

at::Tensor DitBackbone::forward_blocks(const at::Tensor& x_t, const at::Tensor& x0, const at::Tensor& cond,
                                      const at::Tensor& pad_mask, std::int64_t block_size, const at::Tensor& rows) {
  const auto L = x_t.size(1);
  const BlockInput in = block_input(x_t, x0, pad_mask, block_size);
  const auto [h2, c] = trunk(in.tokens, cond, in.key_mask, in.positions, in.attn_mask);
  const at::Tensor h = h2.narrow(1, 0, L);  // (B, L, H): the x_t half
  if (!rows.defined()) return impl_->output_layer->forward(h, c);  // (B, L, V)
  const at::Tensor row_c = c.index_select(0, torch::div(rows, L, "floor"));
  return impl_->output_layer->rows(h.flatten(0, 1).index_select(0, rows), row_c);  // (M, V)
}

at::Tensor DitBackbone::forward_cached(const at::Tensor& x, const at::Tensor& cond, KvCache& cache, bool store,
                                      bool causal_within) {
  const auto [h, c] = trunk(x, cond, at::Tensor(), at::Tensor(), at::Tensor(), &cache, store, causal_within);
  return impl_->output_layer->forward(h, c);  // (B, n, V)
}

at::Tensor DitBackbone::forward_rows(const at::Tensor& x, const at::Tensor& cond, const at::Tensor& pad_mask,
                                     const at::Tensor& rows) {
  const auto [h, c] = trunk(x, cond, pad_mask);
  const at::Tensor row_c = c.index_select(0, torch::div(rows, x.size(1), "floor"));  // (M, C): each row's sample
  return impl_->output_layer->rows(h.flatten(0, 1).index_select(0, rows), row_c);   // (M, V)
}

}  // namespace unmask
