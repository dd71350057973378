// One AdamW step on the parameter shapes of the benchmark BERTs (tiny: 1.8M,
// 20M: 23M parameters, vocab 8,000), LibTorch's torch::optim::AdamW against
// unmask's FusedAdamW, side by side in one run; median of 21 steps each.
//   build/unmask_bench_optimizer [threads]   → one JSON line per model
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "unmask/train/fused_adamw.h"

namespace {

// Embedding, per layer 4 attention matrices and 2 MLP matrices with their biases, norms.
std::vector<at::Tensor> bert_shapes(std::int64_t d, std::int64_t layers, std::int64_t vocab) {
  std::vector<at::Tensor> ps = {torch::randn({vocab, d}), torch::randn({128, d})};
  for (std::int64_t l = 0; l < layers; ++l) {
    for (int i = 0; i < 4; ++i) ps.push_back(torch::randn({d, d}));
    ps.push_back(torch::randn({4 * d, d}));
    ps.push_back(torch::randn({d, 4 * d}));
    for (int i = 0; i < 9; ++i) ps.push_back(torch::randn({d}));
    ps.push_back(torch::randn({4 * d}));
  }
  for (auto& p : ps) {
    p.requires_grad_();
    p.mutable_grad() = torch::randn_like(p);
  }
  return ps;
}

template <class Optimizer> double median_ms(const std::vector<at::Tensor>& params) {
  Optimizer opt(params, torch::optim::AdamWOptions(1e-4).weight_decay(0.01));
  for (int i = 0; i < 3; ++i) opt.step();
  std::vector<double> ms;
  for (int i = 0; i < 21; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    opt.step();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  at::set_num_threads(threads);
  struct Model { const char* name; std::int64_t d, layers; };
  for (const Model m : {Model{"tiny", 128, 4}, Model{"20M", 512, 6}}) {
    torch::manual_seed(0);
    const auto params = bert_shapes(m.d, m.layers, 8000);
    std::int64_t n = 0;
    for (const auto& p : params) n += p.numel();
    const double plain = median_ms<torch::optim::AdamW>(params);
    const double fused = median_ms<unmask::FusedAdamW>(params);
    std::printf("{\"model\": \"%s\", \"params\": %lld, \"tensors\": %zu, \"threads\": %d, \"libtorch_adamw_ms\": %.2f, "
                "\"fused_adamw_ms\": %.2f, \"speedup\": %.2f}\n",
                m.name, static_cast<long long>(n), params.size(), threads, plain, fused, plain / fused);
  }
}
