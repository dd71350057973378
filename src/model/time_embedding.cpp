// Sinusoidal time features and the timestep MLP (MDLM models/dit.py).
#include "unmask/model/time_embedding.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include <cmath>

namespace unmask {

at::Tensor sinusoidal_embedding(const at::Tensor& t, std::int64_t dim, double max_period) {
  const std::int64_t half = dim / 2;
  const auto opts = t.options().dtype(at::kFloat);
  const at::Tensor freqs = at::exp(-std::log(max_period) * at::arange(half, opts) / static_cast<double>(half));  // (half)
  const at::Tensor args = t.to(at::kFloat).unsqueeze(1) * freqs.unsqueeze(0);  // (B, half)
  at::Tensor emb = at::cat({at::cos(args), at::sin(args)}, -1);                // (B, 2·half)
  if (dim % 2) emb = at::cat({emb, at::zeros_like(emb.narrow(1, 0, 1))}, -1);
  return emb;
}

TimestepEmbedderImpl::TimestepEmbedderImpl(std::int64_t hidden, std::int64_t freq_dim_) : freq_dim(freq_dim_) {
  mlp = register_module("mlp", torch::nn::Sequential(torch::nn::Linear(freq_dim, hidden), torch::nn::SiLU(),
                                                     torch::nn::Linear(hidden, hidden)));
}

at::Tensor TimestepEmbedderImpl::forward(const at::Tensor& t) { return mlp->forward(sinusoidal_embedding(t, freq_dim)); }

}  // namespace unmask
