// Peak matrix-multiply rate of this machine through LibTorch's own mm, the
// denominator of model-FLOPs utilisation (bench/train_throughput.py, scripts/gpu_check.sh).
// Usage: unmask_bench_mm [size=1024] [threads=0 (LibTorch default)]
//        unmask_bench_mm [--size N] [--threads T] [--device cpu|cuda] [--dtype fp32|bf16|fp16]  → one JSON line.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "unmask_bench_mm: error: %s\nusage: unmask_bench_mm [SIZE [THREADS]] [--size N] [--threads T] "
               "[--device cpu|cuda] [--dtype fp32|bf16|fp16]\n",
               why.c_str());
  std::exit(2);
}

void sync(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t n = 1024;
  int threads = 0, positional = 0;
  std::string device_name = "cpu", dtype_name = "fp32";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--size") n = std::atoll(value().c_str());
    else if (arg == "--threads") threads = std::atoi(value().c_str());
    else if (arg == "--device") device_name = value();
    else if (arg == "--dtype") dtype_name = value();
    else if (arg.rfind("--", 0) == 0) usage("unknown option " + arg);
    else if (positional == 0) n = std::atoll(arg.c_str()), ++positional;
    else if (positional == 1) threads = std::atoi(arg.c_str()), ++positional;
    else usage("unexpected argument " + arg);
  }
  if (n < 1) usage("size must be >= 1");
  if (device_name != "cpu" && device_name != "cuda") usage("device must be cpu or cuda (got " + device_name + ")");
  const auto dtype = dtype_name == "fp32"   ? torch::kFloat
                     : dtype_name == "bf16" ? torch::kBFloat16
                     : dtype_name == "fp16" ? torch::kHalf
                                            : (usage("dtype must be fp32, bf16 or fp16 (got " + dtype_name + ")"),
                                               torch::kFloat);
  if (device_name == "cuda" && !torch::cuda::is_available()) usage("--device cuda but no CUDA device is available");
  if (threads > 0) at::set_num_threads(threads);
  const torch::Device device(device_name == "cuda" ? torch::kCUDA : torch::kCPU);

  torch::NoGradGuard guard;
  const auto options = torch::TensorOptions().dtype(dtype).device(device);
  const auto a = torch::randn({n, n}, options), b = torch::randn({n, n}, options);
  auto c = torch::mm(a, b);
  sync(device);
  // Enough multiplies per timed rep that each takes a measurable time.
  const double flops = 2.0 * static_cast<double>(n) * n * n;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) c = torch::mm(a, b);
  sync(device);
  const double warm = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 3;
  const int iters = static_cast<int>(std::clamp(0.2 / std::max(warm, 1e-9), 3.0, 200.0));
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) c = torch::mm(a, b);
    sync(device);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, flops * iters / s / 1e9);
  }
  std::printf("{\"size\": %lld, \"threads\": %d, \"device\": \"%s\", \"dtype\": \"%s\", \"iters\": %d, \"gflops\": %.2f}\n",
              static_cast<long long>(n), at::get_num_threads(), device_name.c_str(), dtype_name.c_str(), iters, best);
  return c.numel() > 0 ? 0 : 1;
}
