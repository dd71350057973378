// Embeddings of the diffusion time (or noise level) for time-conditioned
// backbones: the sinusoidal features of GLIDE/DiT/MDLM (cos half, then sin
// half, max period 10^4) and MDLM's TimestepEmbedder MLP on top of them.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>

namespace unmask {

// t: (B) float → (B, dim): [cos(t·f_k), sin(t·f_k)], f_k = 10000^(−k/(dim/2)).
at::Tensor sinusoidal_embedding(const at::Tensor& t, std::int64_t dim, double max_period = 10000.0);

// Linear(freq_dim → hidden), SiLU, Linear(hidden → hidden) on sinusoidal(t).
// Parameter names mlp.0.* and mlp.2.* as in MDLM's TimestepEmbedder.
struct TimestepEmbedderImpl : torch::nn::Module {
  TimestepEmbedderImpl(std::int64_t hidden, std::int64_t freq_dim = 256);
  at::Tensor forward(const at::Tensor& t);  // (B) → (B, hidden)
  std::int64_t freq_dim;
  torch::nn::Sequential mlp{nullptr};
};
TORCH_MODULE(TimestepEmbedder);

}  // namespace unmask
