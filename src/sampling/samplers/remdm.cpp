// `remdm`: ReMDM (Wang et al. 2025, arXiv 2503.00307, "Remasking Discrete
// Diffusion Models with Inference-Time Scaling"; kuleshov-group/remdm
// diffusion.py _ddpm_caching_update). An ancestral step from t to s that may
// also send decoded tokens back to [MASK], so that more steps than tokens keep
// correcting the text (Eq. 7 of the paper, MDLM's posterior when σ = 0):
//   decoded token:  back to [MASK] with probability σ_t, else kept;
//   masked token:   x_θ with probability (α_s − (1 − σ_t)α_t)/(1 − α_t), else kept masked;
//   0 ≤ σ_t ≤ σ_max = min(1, (1 − α_s)/α_t).
// How σ is chosen (--remdm, η = --eta):
//   cap      σ = min(η, (1 − α_s)/α_t)                       (η 0.008)
//   rescale  σ = η σ_max                                      (η 0.015)
//   conf     σ_i = softmax_i(−ψ_i) σ_max over the decoded positions, ψ_i
//            the probability token i had when it was revealed
//   loop     t > t_on: MDLM steps on α = (1 − t)α_on/(1 − t_on); t ≤ t_off:
//            MDLM steps on α = 1 − t(1 − α_on)/t_off; in between α stays at
//            α_on and σ = η (η 0.02): remask and reveal at a fixed level.
// α is the checkpoint's schedule (upstream writes α = 1 − t for its log-linear
// models; unmask's log-linear α = 1 − (1 − ε)t), on the same time grid and with
// the same draws as `ancestral`, which σ = 0 reproduces draw for draw. Then a
// greedy denoise of what is still masked (upstream's noise removal).
#include <torch/torch.h>

#include <algorithm>
#include <vector>

#include "../step_runner.h"
#include "../strategies.h"
#include "unmask/util/error.h"

namespace unmask::sampling {
namespace {

// The reveal probability of a masked position, (α_s − (1 − σ)α_t)/(1 − α_t).
double reveal(double a_t, double a_s, double sigma) { return (a_s - (1 - sigma) * a_t) / (1 - a_t); }

void remdm_steps(Denoiser& d, at::Tensor& x, std::int64_t steps) {
  const SampleRequest& r = d.request;
  if (d.schedule.per_token())
    throw Error("--sampler remdm needs a token-independent schedule (this checkpoint's is " + d.schedule.name() + ")");
  const bool conf = r.remdm == "conf", loop = r.remdm == "loop";
  const double eta = r.eta >= 0 ? r.eta : r.remdm == "cap" ? 0.008 : r.remdm == "rescale" ? 0.015 : 0.02;
  const std::int64_t length = x.size(1), mask = d.special.mask;
  const at::Tensor generated = x == mask;  // (N, L) positions the sampler fills (BOS and prompts stay)
  // Per step, host numbers as device tables: the network's time, a masked
  // position's reveal probability, and σ (conf: σ_max, scaled per position).
  std::vector<double> times, alphas, reveal_p, sigma;
  for (std::int64_t n = 0; n <= steps; ++n) {
    times.push_back(d.on_grid(1.0 - static_cast<double>(n) / steps));
    alphas.push_back(alpha_at(d.schedule, times.back()));
  }
  for (std::int64_t n = 0; n < steps; ++n) {
    const double t = times[n], s = times[n + 1];
    double a_t = alphas[n], a_s = alphas[n + 1], sig = 0;
    if (loop) {
      // Phase bounds up to the rounding of the grid (1 − 19/20 must count as 0.05).
      if (t > r.t_on + 1e-9) {
        a_t = (1 - t) * r.alpha_on / (1 - r.t_on);
        a_s = (1 - s) * r.alpha_on / (1 - r.t_on);
      } else if (t <= r.t_off + 1e-9) {
        a_t = 1 - t * (1 - r.alpha_on) / r.t_off;
        a_s = 1 - s * (1 - r.alpha_on) / r.t_off;
      } else {
        a_t = a_s = r.alpha_on;
        sig = eta;
      }
    } else {
      const double sigma_max = a_t > 0 ? std::min(1.0, (1 - a_s) / a_t) : 1.0;
      if (r.remdm == "cap") sig = a_t > 0 ? std::min(eta, (1 - a_s) / a_t) : eta;
      else if (r.remdm == "rescale") sig = eta * sigma_max;
      else sig = sigma_max;  // conf: scaled per position in the step
    }
    reveal_p.push_back(s < t ? reveal(a_t, a_s, conf ? 0.0 : sig) : 0.0);  // conf: masked positions have σ = 0
    sigma.push_back(s < t ? sig : 0.0);
  }
  const at::Tensor time_of = step_table(times, x), reveal_of = step_table(reveal_p, x);  // (S + 1), (S)
  const at::Tensor sigma_of = step_table(sigma, x), sites = d.sites(steps, 0);           // (S), (S)
  auto update = [&](const at::Tensor& xn, const at::Tensor& psi, const at::Tensor& lp, const at::Tensor& n) {
    const at::Tensor masked = xn == mask;                                  // (N, L)
    const at::Tensor decoded = generated.logical_and(masked.logical_not());  // (N, L) may go back to [MASK]
    const at::Tensor u = d.uniform(sites, n, 2 * length);                  // (N, 2L): decision, then token
    const at::Tensor u_decide = u.narrow(1, 0, length), u_token = u.narrow(1, length, length);
    at::Tensor sigma_now = sigma_of.index_select(0, n).expand(xn.sizes());  // (N, L) float64
    if (conf) {  // σ_i = softmax over decoded i of −ψ_i, times σ_max
      const at::Tensor w = torch::where(decoded, (-psi).exp(), torch::zeros_like(psi));  // (N, L)
      sigma_now = sigma_now * w / w.sum(1, true).clamp_min(1e-300);
    }
    const at::Tensor revealed = masked.logical_and(u_decide < reveal_of.index_select(0, n).expand(xn.sizes()));
    const at::Tensor remasked = decoded.logical_and(u_decide < sigma_now);
    const Positions at(revealed, d.dense);
    const at::Tensor u_rows = at.rows(u_token);  // (R)
    // The drawn tokens, and ψ: the model's probability of each (conf's scores).
    const std::vector<at::Tensor> drawn = at.map_rows(
        lp, d.chunk_rows(lp, d.picker.bytes_per_element()),
        [&](const at::Tensor& rows, std::int64_t first, std::int64_t count) {
          const at::Tensor tokens = d.picker.draw(rows, u_rows.narrow(0, first, count));  // (c)
          if (!conf) return std::vector<at::Tensor>{tokens};
          return std::vector<at::Tensor>{
              tokens, rows.gather(-1, tokens.unsqueeze(-1)).squeeze(-1).to(torch::kFloat64).exp()};
        });
    at::Tensor next = at.put(drawn[0], xn).masked_fill(remasked, mask);  // (N, L)
    if (!conf) return std::vector<at::Tensor>{next};
    return std::vector<at::Tensor>{next, at.put(drawn[1], psi)};
  };
  // State: the canvas, and for conf ψ (N, L) float64; the step's index last.
  StepRunner step(d, [&](const std::vector<at::Tensor>& in) {
    const at::Tensor& n = in.back();
    return update(in[0], conf ? in[1] : at::Tensor(), d.log_probs(in[0], time_of.index_select(0, n)), n);
  });
  std::vector<at::Tensor> state = {x};
  if (conf) state.push_back(torch::zeros(x.sizes(), x.options().dtype(torch::kFloat64)));
  for (std::int64_t n = 0; n < steps; ++n) {
    if (times[n + 1] >= times[n]) continue;  // more steps than the discrete grid has
    state = step(state, n);
    x = state[0];
    d.notify(x);
  }
  const at::Tensor masked = x == mask;
  if (masked.any().item<bool>()) {  // a greedy denoise of what is still masked
    const at::Tensor lp = d.log_probs(x, torch::full({1}, 1.0 / steps, x.options().dtype(torch::kFloat64)));
    x = torch::where(masked, lp.argmax(-1), x);
    d.notify(x);
  }
}

class Remdm final : public Strategy {
 public:
  // The whole canvas: the registry offers it neither inside semi_ar spans nor in bd3lm blocks.
  void denoise(Denoiser& d, at::Tensor& x, const at::Tensor&, std::int64_t steps) const override {
    remdm_steps(d, x, steps);
  }
};

}  // namespace

std::unique_ptr<Strategy> make_remdm_sampler() { return std::make_unique<Remdm>(); }

}  // namespace unmask::sampling
