// `first_hitting`: the first-hitting sampler of Zheng et al. 2024 (arXiv
// 2409.02908, Alg. 1): exact in continuous time, one token and one network
// call per step.
#include <torch/torch.h>

#include <vector>

#include "../step_runner.h"
#include "../strategies.h"

namespace unmask::sampling {
namespace {

// With n masked tokens at time t, each still masked w.p. m(s)/m(t) at s < t
// (m = 1 − α), the first of them is revealed when m(s) = m(t)·u^{1/n}; s is
// found by bisection, vectorised over the samples (it is t·u^{1/n} for linear
// and log-linear). The token is one masked position chosen uniformly, drawn
// from p_θ(x0 | x_t) (Zheng et al. 2024, arXiv 2409.02908, Alg. 1). Every
// step reveals one token of each unfinished sample, so the number of steps is
// the largest masked count, read once before the loop.
void first_hitting_steps(Denoiser& d, at::Tensor& x) {
  const std::int64_t n_rows = x.size(0);
  const std::int64_t mask = d.special.mask;
  auto mask_prob = [&](const at::Tensor& v) { return 1.0 - d.schedule.alpha(v); };
  const auto total_steps = (x == mask).sum(1).max().item<std::int64_t>();
  const at::Tensor sites = d.sites(total_steps, 0);  // (S)
  StepRunner step(d, [&](const std::vector<at::Tensor>& in) {  // canvas, times, index → canvas, times, moved
    const at::Tensor &xn = in[0], &t = in[1], &n = in[2];  // (N, L), (N) float64, (1)
    const at::Tensor masked = xn == mask;                              // (N, L)
    const at::Tensor counts = masked.sum(1, false, torch::kFloat64);  // (N)
    const at::Tensor live = counts > 0;                               // (N)
    const at::Tensor u = d.uniform(sites, n, 3);                      // (N, 3): time, position, token
    // mask_prob(s) = mask_prob(t)·u^{1/n}: by the schedule's inverse, else
    // by bisection, for all samples at once.
    const at::Tensor target =
        mask_prob(t) * torch::pow(u.select(1, 0).clamp_min(1e-300), 1.0 / counts.clamp_min(1));
    at::Tensor s = d.schedule.time_at(1 - target);
    if (!s.defined()) {
      at::Tensor lo = torch::zeros_like(t), hi = t.clone();
      for (int it = 0; it < 60; ++it) {
        const at::Tensor mid = 0.5 * (lo + hi);
        const at::Tensor below = mask_prob(mid) < target;
        lo = torch::where(below, mid, lo);
        hi = torch::where(below, hi, mid);
      }
      s = 0.5 * (lo + hi);
    }
    const at::Tensor next_t = torch::where(live, s.clamp(0.0, 1.0).minimum(t), t);  // finished samples keep their time
    const at::Tensor lp = d.log_probs(xn, next_t);                                  // (N, L, V)
    // The j-th masked position of each row, j uniform in [0, count).
    const at::Tensor j = (u.select(1, 1) * counts).floor().clamp_max(counts - 1).to(torch::kLong);  // (N)
    const at::Tensor pos =                                                                           // (N, 1)
        masked.logical_and(masked.cumsum(1) == (j + 1).unsqueeze(1)).to(torch::kLong).argmax(1, true);
    const at::Tensor rows = lp.gather(1, pos.unsqueeze(2).expand({n_rows, 1, lp.size(2)})).squeeze(1);  // (N, V)
    const at::Tensor token = d.picker.draw(rows, u.select(1, 2));                                       // (N)
    const at::Tensor next_x = xn.scatter(1, pos, torch::where(live, token, xn.gather(1, pos).squeeze(1)).unsqueeze(1));
    return std::vector<at::Tensor>{next_x, next_t, live};
  });
  std::vector<at::Tensor> step_times, step_live;  // per step: (N) time, (N) whether the sample moved
  at::Tensor t = torch::ones({n_rows}, x.options().dtype(torch::kFloat64));  // (N) current time of each sample
  for (std::int64_t n = 0; n < total_steps; ++n) {
    const std::vector<at::Tensor> out = step({x, t}, n);
    x = out[0];
    t = out[1];
    step_times.push_back(out[1]);
    step_live.push_back(out[2]);
    d.notify(x);
  }
  // The reveal times of each sample, read back once.
  d.out.times.assign(static_cast<std::size_t>(n_rows), {});
  if (step_times.empty()) return;
  const at::Tensor all_times = torch::stack(step_times, 1).cpu(), all_live = torch::stack(step_live, 1).cpu();  // (N, S)
  for (std::int64_t i = 0; i < n_rows; ++i)
    for (std::int64_t k = 0; k < total_steps; ++k)
      if (all_live[i][k].item<bool>()) d.out.times[static_cast<std::size_t>(i)].push_back(all_times[i][k].item<double>());
}

// The whole canvas: the registry does not offer it inside semi_ar spans.
class FirstHitting final : public Strategy {
 public:
  void denoise(Denoiser& d, at::Tensor& x, const at::Tensor&, std::int64_t) const override { first_hitting_steps(d, x); }
};

}  // namespace

std::unique_ptr<Strategy> make_first_hitting_sampler() { return std::make_unique<FirstHitting>(); }

}  // namespace unmask::sampling
