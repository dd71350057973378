// Ancestral (MDLM diffusion.py _ddpm_update / _ddpm_caching_update), confidence
// (MaskGIT, LLaDA; Mask-Predict re-masking) and first-hitting (Zheng et al.
// 2024) reverse loops over the active [MASK] positions of a canvas, each step
// batched over the samples with counter-based draws (strategies.h).
#include "strategies.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <vector>

#include "positions.h"
#include "step_runner.h"

namespace unmask::sampling {
namespace {

// (N, L) bool: masked positions of `x` (N, L) that `active` (L) allows.
at::Tensor open_positions(const at::Tensor& x, std::int64_t mask, const at::Tensor& active) {
  const at::Tensor masked = x == mask;
  return active.defined() ? masked.logical_and(active.unsqueeze(0)) : masked;
}

// α(t) of a token-independent schedule as a host number (α(0) = 1).
double alpha_at(const NoiseSchedule& schedule, double t) {
  return t <= 0 ? 1.0 : schedule.alpha(torch::full({1}, t, torch::kFloat64)).item<double>();
}

// (N, L) float64 on the canvas's device: the probability that a position
// masked at t is revealed by s < t, (α_s − α_t)/(1 − α_t) (MDLM Eq. 7 / D3PM
// absorbing posterior), `shared` (1) when α does not depend on the token; t, s
// (1) float64. Under the spindle schedule α depends on the token, which a
// masked position does not know yet: as DiffusionBERT's sampler does
// (`diffusion_word_freq.py` noise_fn: word weights of q0.argmax), the weights
// come from the current prediction x̂0 = argmax p_θ(x0 | x_t) at masked
// positions and from the canvas elsewhere, centred over the row's non-[PAD]
// tokens, and the per-token posterior (α_s^i − α_t^i)/(1 − α_t^i) is exact for
// those weights (DESIGN.md §5). Its α is 1 at s = 0.
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
  const at::Tensor r = at.rows(reveal).unsqueeze(1);                    // (M, 1) float64
  at::Tensor joint = at.rows(lp).to(torch::kFloat64) + torch::log(r);   // (M, V)
  joint.narrow(1, d.special.mask, 1).copy_(torch::log1p(-r));
  return at.put(d.picker.draw(joint, at.rows(u)), x);
}

}  // namespace

// A masked position at t is revealed at s < t with `reveal_probability`
// (uniforms 0 … L−1 of the step), its token drawn from p_θ(x0 | x_t) with
// [MASK] excluded (uniforms L … 2L−1); only the revealed positions' rows are
// drawn (positions.h).
void ancestral(Denoiser& d, at::Tensor& x, const at::Tensor& active, std::int64_t steps, bool cache) {
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
    return at.put(d.picker.draw(at.rows(lp), at.rows(u_token)), xn);
  };
  StepRunner step(d, [&](const std::vector<at::Tensor>& in) {  // canvas, index → canvas
    return std::vector<at::Tensor>{update(in[0], d.log_probs(in[0], time_of.index_select(0, in[1])), in[1])};
  });
  at::Tensor lp;  // (N, L, V) the prediction `cached` reuses
  for (std::int64_t n = 0; n < steps; ++n) {
    if (d.check_at(n) && !open_positions(x, d.special.mask, active).any().item<bool>()) break;
    if (times[n + 1] >= times[n]) continue;  // more steps than the discrete grid has: nothing to do here
    if (!cache) {
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

// At each of `steps` steps every candidate position gets a drawn token (draw 0)
// and a confidence: its log-probability (maxprob), the top-1 − top-2 margin,
// or minus the entropy. Without re-masking the candidates are the masked
// positions and the k most confident are revealed; with it (Mask-Predict,
// Ghazvininejad et al. 2019) revealed tokens are re-scored under the current
// prediction and every generated position competes, so low-confidence tokens
// go back to [MASK]. Either way round(total · left(n)) positions stay masked
// after step n, left = 1 − n/S (linear) or cos(π/2 · n/S) (cosine, MaskGIT).
// Ties go to the earlier position. All rows at once: ranks by a stable sort.
void confidence(Denoiser& d, at::Tensor& x, const at::Tensor& active, std::int64_t steps) {
  const SampleRequest& r = d.request;
  const std::int64_t n_rows = x.size(0), length = x.size(1);
  const auto f64 = x.options().dtype(torch::kFloat64);
  const at::Tensor generated = open_positions(x, d.special.mask, active);  // (N, L) positions this call fills
  const at::Tensor totals = generated.sum(1, false, torch::kFloat64);        // (N)
  const at::Tensor position = torch::arange(length, x.options()).expand({n_rows, length});  // (N, L)
  std::vector<double> times, left;  // per step: the network's time and the fraction left masked after it
  for (std::int64_t n = 0; n < steps; ++n) {
    const double done = static_cast<double>(n + 1) / steps;
    times.push_back(1.0 - static_cast<double>(n) / steps);
    left.push_back(r.k_schedule == "cosine" ? std::cos(M_PI / 2 * done) : 1.0 - done);
  }
  const at::Tensor time_of = step_table(times, x), left_of = step_table(left, x), sites = d.sites(steps, 0);  // (S)
  StepRunner step(d, [&](const std::vector<at::Tensor>& in) {  // canvas, index → canvas
    const at::Tensor &xn = in[0], &n = in[1];
    const at::Tensor still_masked = (xn == d.special.mask).logical_and(generated);  // (N, L)
    const at::Tensor lp = d.log_probs(xn, time_of.index_select(0, n));
    const at::Tensor remaining = (totals * left_of.index_select(0, n) + 0.5).floor();  // (N) positions left masked after this step
    const at::Tensor candidates = r.remask ? generated : still_masked;                // (N, L) positions that compete
    const at::Tensor keep =                                                            // (N) positions revealed (kept) now
        (r.remask ? totals : still_masked.sum(1, false, torch::kFloat64)) - remaining;
    // Only the candidate positions are scored and drawn (C rows).
    const Positions at(candidates, d.dense);
    // (C, V) filtered log-probabilities (float64), or the network's own when there is nothing to filter
    const at::Tensor filtered = d.picker.identity() ? at.rows(lp) : d.picker.log_probs(at.rows(lp));
    const at::Tensor drawn =  // (C): drawn from the same filtered distribution
        d.picker.draw_filtered(filtered, at.rows(d.uniform(sites, n, length)));
    const at::Tensor current = at.rows(xn);                                              // (C)
    const at::Tensor tokens = torch::where(current == d.special.mask, drawn, current);  // revealed tokens keep their value
    at::Tensor score;                                                                    // (C)
    if (r.confidence == "margin") {
      const at::Tensor top2 = std::get<0>(filtered.exp().topk(2, -1));
      score = top2.select(1, 0) - top2.select(1, 1);
    } else if (r.confidence == "entropy") {
      const at::Tensor p = filtered.exp();
      score = (p * filtered).nan_to_num(0.0).sum(-1);  // −H (0 · log 0 = 0)
    } else {
      score = filtered.gather(-1, tokens.unsqueeze(-1)).squeeze(-1);  // log p of the (drawn or kept) token
    }
    score = score.to(torch::kFloat64);
    // Rank of every position by score within its row (non-candidates last).
    const at::Tensor scores = at.put(score, torch::full({n_rows, length}, -INFINITY, f64));       // (N, L)
    const at::Tensor order = std::get<1>(scores.sort(/*stable=*/true, 1, /*descending=*/true));  // (N, L)
    const at::Tensor rank = torch::empty_like(order).scatter_(1, order, position);               // (N, L)
    const at::Tensor moving = keep > 0;                                                          // (N)
    const at::Tensor chosen = candidates.logical_and(rank < keep.unsqueeze(1));
    const at::Tensor base = r.remask ? xn.masked_fill(generated.logical_and(moving.unsqueeze(1)), d.special.mask) : xn;
    return std::vector<at::Tensor>{torch::where(chosen, at.put(tokens, base), base)};
  });
  for (std::int64_t n = 0; n < steps; ++n) {
    if (d.check_at(n) && !(x == d.special.mask).logical_and(generated).any().item<bool>()) break;
    x = step({x}, n)[0];
    d.notify(x);
  }
}

// With n masked tokens at time t, each still masked w.p. m(s)/m(t) at s < t
// (m = 1 − α), the first of them is revealed when m(s) = m(t)·u^{1/n}; s is
// found by bisection, vectorised over the samples (it is t·u^{1/n} for linear
// and log-linear). The token is one masked position chosen uniformly, drawn
// from p_θ(x0 | x_t) (Zheng et al. 2024, arXiv 2409.02908, Alg. 1). Every
// step reveals one token of each unfinished sample, so the number of steps is
// the largest masked count, read once before the loop.
void first_hitting(Denoiser& d, at::Tensor& x) {
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

}  // namespace unmask::sampling
