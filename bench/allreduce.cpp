// unmask_bench_allreduce: the cost of synchronising the gradients of one
// model across ranks, three ways, on the process group `unmask train` uses.
//   per_param: one blocking all-reduce per parameter tensor (the naive path)
//   bucketed:  gradients flattened into dist.bucket_mb buckets, one all-reduce each
//   reducer:   a real forward+backward with c10d::Reducer (buckets all-reduced
//              while the backward runs) minus the same backward without it
// Start it like the trainer: torchrun --nproc-per-node=2 --no-python
//   build/unmask_bench_allreduce [HIDDEN LAYERS HEADS VOCAB BATCH LENGTH REPS BUCKET_MB]
// Rank 0 prints one JSON object (median seconds).
#include <torch/csrc/distributed/c10d/reducer.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "unmask/distributed/grad_sync.h"
#include "unmask/distributed/launch.h"
#include "unmask/distributed/process_group.h"
#include "unmask/model/backbone.h"

using namespace unmask;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <class F> double timed(DistGroup& group, int reps, F&& body) {
  std::vector<double> times;
  for (int r = 0; r < reps + 2; ++r) {  // 2 warm-up rounds
    group.barrier();
    const auto start = std::chrono::steady_clock::now();
    body();
    if (r >= 2) times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return median(times);
}

}  // namespace

int main(int argc, char** argv) {
  auto arg = [&](int i, long long fallback) { return argc > i ? std::atoll(argv[i]) : fallback; };
  ModelConfig m;
  m.backbone = "dit";
  m.hidden = arg(1, 512);
  m.layers = arg(2, 6);
  m.heads = arg(3, 8);
  m.dropout = 0;
  m.cond_dim = 128;
  const std::int64_t vocab = arg(4, 8000), batch = arg(5, 8), length = arg(6, 128);
  const int reps = static_cast<int>(arg(7, 10));
  DistConfig dc;
  dc.bucket_mb = static_cast<double>(arg(8, 25));
  try {
    const LaunchInfo launch = read_launch([](const char* n) { return std::getenv(n); }, "auto", dc.port);
    if (!launch.distributed()) throw std::runtime_error("start it with torchrun --nproc-per-node=2 --no-python");
    m.max_length = length;
    torch::manual_seed(1);
    Backbone model = make_backbone({m, vocab, false, 0});
    DistGroup group(launch, dc, torch::Device(torch::kCPU));
    std::vector<at::Tensor> params;
    std::vector<std::string> names;
    std::int64_t numel = 0;
    for (const auto& p : model->named_parameters()) {
      params.push_back(p.value());
      names.push_back(p.key());
      numel += p.value().numel();
    }
    std::vector<at::Tensor> grads;
    for (const auto& p : params) grads.push_back(torch::randn_like(p));

    const double per_param = timed(group, reps, [&] {
      for (auto& g : grads) group.all_reduce_sum(g);
    });
    const auto bucket_bytes = static_cast<std::size_t>(dc.bucket_mb * 1024 * 1024);
    auto [buckets, limits] = c10d::compute_bucket_assignment_by_size(grads, {bucket_bytes});
    const double bucketed = timed(group, reps, [&] {
      for (const auto& bucket : buckets) {
        std::vector<at::Tensor> parts;
        for (auto i : bucket) parts.push_back(grads[i]);
        at::Tensor flat = at::flatten_dense_tensors(parts);
        group.all_reduce_sum(flat);
        const auto back = at::unflatten_dense_tensors(flat, parts);
        for (std::size_t k = 0; k < parts.size(); ++k) parts[k].copy_(back[k]);
      }
    });

    const at::Tensor x = torch::randint(5, vocab, {batch, length}, torch::kLong);
    const at::Tensor cond = torch::zeros({batch});
    auto backward = [&](GradSync* sync) {
      model->zero_grad();
      if (sync) sync->before_forward(true);
      const at::Tensor loss = model->forward(x, cond, at::Tensor()).to(torch::kFloat32).logsumexp(-1).mean();
      if (sync) sync->before_backward(loss);
      loss.backward();
    };
    const double local = timed(group, reps, [&] { backward(nullptr); });
    GradSync sync(group, params, names, dc.bucket_mb);
    const double with_reducer = timed(group, reps, [&] { backward(&sync); });

    if (launch.rank == 0) {
      const nlohmann::json out = {{"world_size", launch.world_size}, {"parameters", numel}, {"tensors", params.size()},
                                  {"gradient_mb", numel * 4.0 / 1e6}, {"bucket_mb", dc.bucket_mb},
                                  {"buckets", buckets.size()}, {"per_param_s", per_param}, {"bucketed_s", bucketed},
                                  {"backward_s", local}, {"backward_with_reducer_s", with_reducer},
                                  {"reducer_exposed_s", with_reducer - local}};
      std::cout << out.dump() << std::endl;
    }
    group.barrier();
  } catch (const std::exception& e) {
    std::cerr << "unmask_bench_allreduce: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
