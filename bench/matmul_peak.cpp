// Peak matrix-multiply rate of this machine through LibTorch's own mm, the
// denominator of model-FLOPs utilisation in bench/train_throughput.py.
// Usage: unmask_bench_mm [size=1024] [threads=0 (LibTorch default)] → JSON line.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  const std::int64_t n = argc > 1 ? std::atoll(argv[1]) : 1024;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 0;
  if (threads > 0) at::set_num_threads(threads);
  torch::NoGradGuard guard;
  const auto a = torch::randn({n, n}), b = torch::randn({n, n});
  auto c = torch::mm(a, b);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const int iters = 10;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) c = torch::mm(a, b);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, 2.0 * n * n * n * iters / s / 1e9);
  }
  std::printf("{\"size\": %lld, \"threads\": %d, \"gflops\": %.2f}\n", static_cast<long long>(n),
              at::get_num_threads(), best);
  return c.numel() > 0 ? 0 : 1;
}
