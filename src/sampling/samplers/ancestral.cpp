// `ancestral`: MDLM diffusion.py _ddpm_update (and D3PM's absorbing reverse
// step): at each of S times a masked position is revealed with the reverse
// step's probability and its token drawn from p_θ(x0 | x_t); then a greedy
// denoise of what is left. `cached` (cached.cpp) runs the same steps, reusing
// the prediction while nothing changed (_ddpm_caching_update).
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "../step_runner.h"
#include "../strategies.h"

namespace unmask::sampling {
namespace {

// (N, L) float64 on the canvas's device: the probability that a position
// masked at t is revealed by s < t, (α_s − α_t)/(1 − α_t) (MDLM Eq. 7 / D3PM
// absorbing posterior), `shared` (1) when α does not depend on the token; t, s
// (1) float64. Under the spindle schedule α depends on the token, which a
// masked position does not know yet: as DiffusionBERT's sampler does
// (`diffusion_word_freq.py` noise_fn: word weights of q0.argmax), the weights
// come from the current prediction x̂0 = argmax p_θ(x0 | x_t) at masked
// positions and from the canvas elsewhere, centred over the row's non-[PAD]
// tokens, and the per-token posterior (α_s^i − α_t^i)/(1 − α_t^i) is exact for
// those weights (docs/BACKGROUND.md). Its α is 1 at s = 0.
at::Tensor reveal_probability(const Denoiser& d, const at::Tensor& x, const at::Tensor& lp, const at::Tensor& t,
                              const at::Tensor& s, const at::Tensor& shared) {
  if (!d.schedule.per_token()) return shared.expand(x.sizes());
  const at::Tensor x0_hat = torch::where(x == d.special.mask, lp.argmax(-1), x);  // (N, L)
  const at::Tensor real = x0_hat != d.special.pad;                                 // (N, L)
  auto alpha_of = [&](const at::Tensor& time) {
    return d.schedule.token_alpha(time.expand({x.size(0)}), x0_hat, real).to(torch::kFloat64);
  };
  const at::Tensor a_t = alpha_of(t), a_s = alpha_of(s);  // (N, L)
  return ((a_s - a_t) / (1 - a_t)).clamp(0.0, 1.0);
}

// DiffusionBERT's decoding (predict.py → discrete_diffusion_predict_fn): every
// masked position draws from the reverse step itself, V + 1 outcomes
// p(x_s = v | x_t) = r·p_θ(v | x_t) and p(x_s = [MASK] | x_t) = 1 − r, with the
// temperature and top-k/top-p applied to those V + 1 logits. A low temperature
// then keeps positions masked until r·max p_θ outweighs 1 − r, i.e. late.
// With temperature 1 and no filter it is the same distribution as the default.
at::Tensor reverse_step_draw(const Denoiser& d, const at::Tensor& lp, const at::Tensor& masked, const at::Tensor& reveal,
                             const at::Tensor& u, const at::Tensor& x) {
  const Positions at(masked, d.dense);
  const at::Tensor r_rows = at.rows(reveal), u_rows = at.rows(u);  // (M) float64
  const std::int64_t chunk = d.chunk_rows(lp, d.picker.bytes_per_element() + 24);  // + the float64 joint
  const at::Tensor drawn = at.map_rows(lp, chunk, [&](const at::Tensor& rows, std::int64_t first, std::int64_t n) {
    const at::Tensor r = r_rows.narrow(0, first, n).unsqueeze(1);     // (n, 1)
    at::Tensor joint = rows.to(torch::kFloat64) + torch::log(r);      // (n, V)
    joint.narrow(1, d.special.mask, 1).copy_(torch::log1p(-r));
    return std::vector<at::Tensor>{d.picker.draw(joint, u_rows.narrow(0, first, n))};
  })[0];
  return at.put(drawn, x);
}

}  // namespace

double alpha_at(const NoiseSchedule& schedule, double t) {
  return t <= 0 ? 1.0 : schedule.alpha(torch::full({1}, t, torch::kFloat64)).item<double>();
}

// A masked position at t is revealed at s < t with `reveal_probability`
// (uniforms 0 … L−1 of the step), its token drawn from p_θ(x0 | x_t) with
// [MASK] excluded (uniforms L … 2L−1); only the revealed positions' rows are
// drawn (positions.h).
void ancestral_steps(Denoiser& d, at::Tensor& x, const at::Tensor& active, std::int64_t steps, bool reuse) {
  const std::int64_t length = x.size(1);
  // The time grid and, for token-independent schedules, α on it and the
  // shared reveal probability: host numbers fixed before the loop, tables on
  // the device. On a discrete-time model (D3PM, DiffusionBERT: T steps) the
  // grid lies on k/T.
  std::vector<double> times, alphas, shared;
  for (std::int64_t n = 0; n <= steps; ++n) {
    times.push_back(d.on_grid(1.0 - static_cast<double>(n) / steps));
    alphas.push_back(d.schedule.per_token() ? 0.0 : alpha_at(d.schedule, times.back()));
  }
  for (std::int64_t n = 0; n < steps; ++n)
    shared.push_back(times[n + 1] < times[n] ? (alphas[n + 1] - alphas[n]) / (1 - alphas[n]) : 0.0);
  const at::Tensor time_of = step_table(times, x), shared_of = step_table(shared, x);  // (S + 1), (S) float64
  const at::Tensor sites = d.sites(steps, 0);                                          // (S) int64
  // (N, L) canvas xn at step n (1), its prediction lp (N, L, V) → the canvas at s.
  auto update = [&](const at::Tensor& xn, const at::Tensor& lp, const at::Tensor& n) {
    const at::Tensor masked = open_positions(xn, d.special.mask, active);  // (N, L)
    const at::Tensor reveal =                                               // (N, L) float64
        reveal_probability(d, xn, lp, time_of.index_select(0, n), time_of.index_select(0, n + 1),
                           shared_of.index_select(0, n));
    const at::Tensor u = d.uniform(sites, n, 2 * length);    // (N, 2L): reveal, then token
    const at::Tensor u_token = u.narrow(1, length, length);  // (N, L)
    if (d.request.filter == "reverse") return reverse_step_draw(d, lp, masked, reveal, u_token, xn);
    const Positions at(masked.logical_and(u.narrow(1, 0, length) < reveal), d.dense);
    return at.put(draw_at(d, at, lp, u_token), xn);
  };
  StepRunner step(d, [&](const std::vector<at::Tensor>& in) {  // canvas, index → canvas
    return std::vector<at::Tensor>{update(in[0], d.log_probs(in[0], time_of.index_select(0, in[1])), in[1])};
  });
  at::Tensor lp;  // (N, L, V) the prediction `cached` reuses
  for (std::int64_t n = 0; n < steps; ++n) {
    if (d.check_at(n) && !open_positions(x, d.special.mask, active).any().item<bool>()) break;
    if (times[n + 1] >= times[n]) continue;  // more steps than the discrete grid has: nothing to do here
    if (!reuse) {
      x = step({x}, n)[0];
    } else {  // MDLM ddpm_cache: the next call is skipped when no token changed, a host decision by design
      const at::Tensor index = torch::full({1}, n, x.options());
      if (lp.defined()) ++d.out.calls_saved;
      else lp = d.log_probs(x, time_of.index_select(0, index));
      const at::Tensor next = update(x, lp, index);
      if (!torch::equal(next, x)) lp = at::Tensor();
      x = next;
    }
    d.notify(x);
  }
  const at::Tensor masked = open_positions(x, d.special.mask, active);
  if (masked.any().item<bool>()) {  // a final greedy denoise of what is still masked
    if (lp.defined()) ++d.out.calls_saved;  // `cached` with nothing changed since its last call
    else lp = d.log_probs(x, torch::full({1}, 1.0 / steps, x.options().dtype(torch::kFloat64)));
    x = torch::where(masked, lp.argmax(-1), x);
    d.notify(x);
  }
}

namespace {

class Ancestral final : public Strategy {
 public:
  void denoise(Denoiser& d, at::Tensor& x, const at::Tensor& active, std::int64_t steps) const override {
    ancestral_steps(d, x, active, steps, /*reuse=*/false);
  }
};

}  // namespace

std::unique_ptr<Strategy> make_ancestral_sampler() { return std::make_unique<Ancestral>(); }

}  // namespace unmask::sampling
