// unmask_bench_sample: per sampler, network calls, seconds per batch and the
// overhead ratio wall ÷ (calls × one forward pass), the forward measured in
// the same process on the same canvas shape (`overhead`), and wall ÷ the time
// the run itself spent in its network calls (`overhead_in_run`). One JSON object.
//   unmask_bench_sample CHECKPOINT NUM LENGTH STEPS THREADS SAMPLER[,SAMPLER...] [REPS]
// REPS: runs per sampler, the fastest kept (default 3).
// UNMASK_BENCH_DENSE=1: draw at every position (the CUDA path) on the CPU too.
// UNMASK_BENCH_OPS=1: also, per sampler, where the time outside the network
// goes: the top-level ATen operations of one more run by total time ("ops").
#include <ATen/record_function.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "unmask/app/sampling_session.h"
#include "unmask/diffusion/masking.h"
#include "unmask/util/allocator.h"

using namespace unmask;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Median time of one denoiser call (forward + log-softmax without [MASK]) on a
// half-masked (num, length) canvas.
double forward_seconds(RunModel& m, std::int64_t num, std::int64_t length, int reps) {
  torch::NoGradGuard no_grad;
  const auto& special = m.tokenizer->special();
  at::Tensor x = torch::randint(5, m.tokenizer->vocab_size(), {num, length}, torch::kLong);  // (N, L)
  x.masked_fill_(torch::rand({num, length}) < 0.5, special.mask);
  const at::Tensor cond = m.objective->time_condition(torch::full({num}, 0.5, torch::kFloat64));
  std::vector<double> times;
  for (int rep = 0; rep < reps + 3; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    const at::Tensor lp = log_probs_without_mask(m.model->forward(x, cond, at::Tensor()), special.mask);
    (void)lp.sum().item<float>();
    if (rep >= 3) times.push_back(seconds_since(start));  // 3 warm-up calls
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Wall time per top-level operation name while alive (the network call, user
// scope "unmask::network", counts as one).
class OpTimes {
 public:
  OpTimes() {
    handle_ = at::addThreadLocalCallback(
        at::RecordFunctionCallback(
            [](const at::RecordFunction& fn) -> std::unique_ptr<at::ObserverContext> {
              if (depth_++ == 0) {
                name_ = fn.name();
                start_ = std::chrono::steady_clock::now();
              }
              return nullptr;
            },
            [](const at::RecordFunction&, at::ObserverContext*) {
              if (--depth_ == 0) {
                auto& [seconds, count] = (*times_)[name_];
                seconds += seconds_since(start_);
                ++count;
              }
            })
            .scopes({at::RecordScope::FUNCTION, at::RecordScope::USER_SCOPE}));
    times_ = &times;
  }
  ~OpTimes() { at::removeCallback(handle_); }
  std::map<std::string, std::pair<double, std::int64_t>> times;  // name → (seconds, calls)

 private:
  at::CallbackHandle handle_;
  static thread_local int depth_;
  static thread_local std::string name_;
  static thread_local std::chrono::steady_clock::time_point start_;
  static thread_local std::map<std::string, std::pair<double, std::int64_t>>* times_;
};
thread_local int OpTimes::depth_ = 0;
thread_local std::string OpTimes::name_;
thread_local std::chrono::steady_clock::time_point OpTimes::start_;
thread_local std::map<std::string, std::pair<double, std::int64_t>>* OpTimes::times_ = nullptr;

// The 20 costliest top-level operations of one run: [name, seconds, calls].
nlohmann::json op_breakdown(SamplingSession& session, const SampleRequest& r) {
  OpTimes recorder;
  (void)session.sample(r);
  std::vector<std::pair<std::string, std::pair<double, std::int64_t>>> rows(recorder.times.begin(), recorder.times.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < rows.size() && i < 20; ++i)
    out.push_back({rows[i].first, rows[i].second.first, rows[i].second.second});
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7 && argc != 8) {
    std::cerr << "usage: unmask_bench_sample CHECKPOINT NUM LENGTH STEPS THREADS SAMPLER[,SAMPLER...] [REPS]\n";
    return 2;
  }
  try {
    const std::int64_t num = std::stoll(argv[2]), length = std::stoll(argv[3]), steps = std::stoll(argv[4]);
    at::set_num_threads(std::stoi(argv[5]));
    keep_freed_memory();  // as the unmask tensor commands do (UNMASK_KEEP_FREED_MEMORY=0: glibc's defaults)
    const int reps = argc == 8 ? std::stoi(argv[7]) : 3;
    SamplingSession session(argv[1], "cpu", /*ema=*/true);
    RunModel& m = session.model();
    const double forward = forward_seconds(m, num, length, 4 * reps);
    nlohmann::json out = {{"forward_s", forward}, {"num", num}, {"length", length}, {"steps", steps},
                          {"threads", at::get_num_threads()}, {"samplers", nlohmann::json::array()}};
    std::stringstream names(argv[6]);
    for (std::string name; std::getline(names, name, ',');) {
      // The product's request (the model's context, its time grid), with the bench's sizes.
      SampleOverrides o;
      o.sampler = name;
      o.num = num;
      o.length = length;
      o.steps = steps;
      o.seed = 1;
      o.block_size = std::max<std::int64_t>(1, (length - 1) / 4);
      SampleRequest r = session.request(o);
      if (const char* dense = std::getenv("UNMASK_BENCH_DENSE"); dense && std::string(dense) == "1") r.dense_draws = true;
      double best = 1e300, network = 0;
      std::int64_t calls = 0;
      for (int rep = 0; rep < reps; ++rep) {  // best of `reps`
        const auto start = std::chrono::steady_clock::now();
        const SampleResult result = session.sample(r);
        const double seconds = seconds_since(start);
        if (seconds < best) {
          best = seconds;
          network = result.network_seconds;  // the network calls' own time in that run
        }
        calls = result.network_calls;
      }
      out["samplers"].push_back({{"sampler", name}, {"calls", calls}, {"seconds", best},
                                 {"seconds_per_sample", best / static_cast<double>(num)},
                                 {"overhead", best / (static_cast<double>(calls) * forward)},
                                 {"overhead_in_run", best / network}});
      if (const char* ops = std::getenv("UNMASK_BENCH_OPS"); ops && std::string(ops) == "1")
        out["samplers"].back()["ops"] = op_breakdown(session, r);
    }
    out["forward_after_s"] = forward_seconds(m, num, length, 4 * reps);  // the same measurement after the samplers
    std::cout << out.dump() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
