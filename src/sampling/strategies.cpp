// Ancestral (MDLM diffusion.py _ddpm_update / _ddpm_caching_update), confidence
// (MaskGIT, LLaDA; Mask-Predict re-masking) and first-hitting (Zheng et al.
// 2024) reverse loops over the active [MASK] positions of a canvas.
#include "strategies.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

namespace unmask::sampling {
namespace {

// (L) bool: masked positions of `x` (N, L) row i that `active` allows.
at::Tensor open_positions(const at::Tensor& x, std::int64_t mask, const at::Tensor& active) {
  const at::Tensor masked = x == mask;
  return active.defined() ? masked.logical_and(active.unsqueeze(0)) : masked;
}

// (N, L) float64 on the CPU: the probability that a position masked at t is
// revealed by s < t, (α_s − α_t)/(1 − α_t) (MDLM Eq. 7 / D3PM absorbing
// posterior). Under the spindle schedule α depends on the token, which a
// masked position does not know yet: as DiffusionBERT's sampler does
// (`diffusion_word_freq.py` noise_fn: word weights of q0.argmax), the weights
// come from the current prediction x̂0 = argmax p_θ(x0 | x_t) at masked
// positions and from the canvas elsewhere, centred over the row's non-[PAD]
// tokens, and the per-token posterior (α_s^i − α_t^i)/(1 − α_t^i) is exact
// for those weights (DESIGN.md §5).
at::Tensor reveal_probability(const Denoiser& d, const at::Tensor& x, const at::Tensor& lp, double t, double s) {
  const std::int64_t n_rows = x.size(0), length = x.size(1);
  if (!d.schedule.per_token()) {
    const double a_t = d.schedule.alpha(torch::full({1}, t, torch::kFloat64)).item<double>();
    const double a_s = s <= 0 ? 1.0 : d.schedule.alpha(torch::full({1}, s, torch::kFloat64)).item<double>();
    return torch::full({n_rows, length}, (a_s - a_t) / (1 - a_t), torch::kFloat64);
  }
  const at::Tensor x0_hat = torch::where(x == d.special.mask, lp.argmax(-1), x);  // (N, L)
  const at::Tensor real = x0_hat != d.special.pad;                                 // (N, L)
  auto alpha_at = [&](double time) {
    return d.schedule.token_alpha(torch::full({n_rows}, time, torch::kFloat64), x0_hat, real).to(torch::kFloat64);
  };
  const at::Tensor a_t = alpha_at(t);                                  // (N, L)
  const at::Tensor a_s = s <= 0 ? torch::ones_like(a_t) : alpha_at(s);  // (N, L)
  return ((a_s - a_t) / (1 - a_t)).clamp(0.0, 1.0).cpu();
}

// The default step: each masked position is revealed with its probability,
// then only the revealed ones draw a token (the Gumbel noise, V float64 per
// position, would otherwise cost more than the network).
void reveal_then_draw(Denoiser& d, const at::Tensor& lp, const at::Tensor& masked_cpu, const at::Tensor& reveal,
                      at::Tensor& next) {
  const torch::Device device = next.device();
  for (std::int64_t i = 0; i < next.size(0); ++i) {
    const at::Tensor u = at::rand({next.size(1)}, d.gens[i], torch::kFloat64);                 // (L)
    const at::Tensor revealed = masked_cpu[i].logical_and(u < reveal[i]).nonzero().squeeze(1);  // (R)
    if (revealed.numel() == 0) continue;
    const at::Tensor at_device = revealed.to(device);
    next[i].index_put_({at_device}, d.picker.pick(lp[i].index_select(0, at_device), d.gens[i]).to(device));
  }
}

// DiffusionBERT's decoding (predict.py → discrete_diffusion_predict_fn): every
// masked position draws from the reverse step itself, V + 1 outcomes
// p(x_s = v | x_t) = r·p_θ(v | x_t) and p(x_s = [MASK] | x_t) = 1 − r, with the
// temperature and top-k/top-p applied to those V + 1 logits. A low temperature
// then keeps positions masked until r·max p_θ outweighs 1 − r, i.e. late.
// With temperature 1 and no filter it is the same distribution as the default.
void reverse_step_draw(Denoiser& d, const at::Tensor& lp, const at::Tensor& masked_cpu, const at::Tensor& reveal,
                       at::Tensor& next) {
  const torch::Device device = next.device();
  for (std::int64_t i = 0; i < next.size(0); ++i) {
    const at::Tensor where = masked_cpu[i].nonzero().squeeze(1);  // (M)
    if (where.numel() == 0) continue;
    const at::Tensor r = reveal[i].index_select(0, where).unsqueeze(1).to(device);  // (M, 1) float64
    const at::Tensor at_device = where.to(device);
    at::Tensor joint = lp[i].index_select(0, at_device).to(torch::kFloat64) + torch::log(r);  // (M, V)
    joint.narrow(1, d.special.mask, 1).copy_(torch::log1p(-r));
    next[i].index_put_({at_device}, d.picker.pick(joint, d.gens[i]).to(device));
  }
}

}  // namespace

// A masked position at t is revealed at s < t with `reveal_probability`, its
// token drawn from p_θ(x0 | x_t) with [MASK] excluded.
void ancestral(Denoiser& d, at::Tensor& x, const at::Tensor& active, std::int64_t steps, bool cache) {
  const std::int64_t n_rows = x.size(0);
  at::Tensor lp;  // (N, L, V) log p(x0 | x_t) of the last network call
  auto predict = [&](double t) {
    if (lp.defined() && cache) {
      ++d.out.calls_saved;
      return;
    }
    lp = d.log_probs(x, torch::full({n_rows}, t, torch::kFloat64));
  };
  for (std::int64_t n = 0; n < steps; ++n) {
    const at::Tensor masked = open_positions(x, d.special.mask, active);  // (N, L)
    if (!masked.any().item<bool>()) break;
    // On a discrete-time model (D3PM, DiffusionBERT: T steps) the grid lies on k/T.
    const double t = d.on_grid(1.0 - static_cast<double>(n) / steps), s = d.on_grid(1.0 - static_cast<double>(n + 1) / steps);
    if (s >= t) continue;  // more steps than the discrete grid has: nothing to do here
    predict(t);
    const at::Tensor reveal = reveal_probability(d, x, lp, t, s);  // (N, L) float64, CPU
    const at::Tensor masked_cpu = masked.cpu();
    at::Tensor next = x.clone();
    if (d.request.filter == "reverse") reverse_step_draw(d, lp, masked_cpu, reveal, next);
    else reveal_then_draw(d, lp, masked_cpu, reveal, next);
    if (cache && !torch::equal(next, x)) lp = at::Tensor();  // a token changed: the cache is stale
    x = next;
    d.notify(x);
  }
  const at::Tensor masked = open_positions(x, d.special.mask, active);
  if (masked.any().item<bool>()) {  // a final greedy denoise of what is still masked
    predict(1.0 / steps);
    x = torch::where(masked, lp.argmax(-1), x);
    d.notify(x);
  }
}

// At each of `steps` steps every generated position gets a drawn token and a
// confidence: its log-probability (maxprob), the top-1 − top-2 margin, or
// minus the entropy. Without re-masking the k most confident masked positions
// are revealed; with it (Mask-Predict, Ghazvininejad et al. 2019) revealed
// tokens are re-scored under the current prediction and every generated
// position competes, so low-confidence tokens go back to [MASK]. Either way
// round(total · left(n)) positions stay masked after step n, left = 1 − n/S
// (linear) or cos(π/2 · n/S) (cosine, MaskGIT).
void confidence(Denoiser& d, at::Tensor& x, const at::Tensor& active, std::int64_t steps) {
  const SampleRequest& r = d.request;
  const std::int64_t n_rows = x.size(0);
  const torch::Device device = x.device();
  const at::Tensor generated = open_positions(x, d.special.mask, active);  // (N, L) positions this call fills
  const at::Tensor totals = generated.sum(1).cpu();                          // (N)
  for (std::int64_t n = 0; n < steps && open_positions(x, d.special.mask, active).any().item<bool>(); ++n) {
    const double done = static_cast<double>(n + 1) / steps;
    const double left = r.k_schedule == "cosine" ? std::cos(M_PI / 2 * done) : 1.0 - done;
    const at::Tensor lp = d.log_probs(x, torch::full({n_rows}, 1.0 - static_cast<double>(n) / steps, torch::kFloat64));
    for (std::int64_t i = 0; i < n_rows; ++i) {
      const auto total = totals[i].item<std::int64_t>();
      const auto remaining = static_cast<std::int64_t>(std::llround(static_cast<double>(total) * left));
      const at::Tensor still_masked = (x[i] == d.special.mask).logical_and(generated[i]);  // (L)
      const at::Tensor candidates = r.remask ? generated[i] : still_masked;                 // (L) positions that compete
      const std::int64_t keep = (r.remask ? total : still_masked.sum().item<std::int64_t>()) - remaining;
      if (keep <= 0) continue;
      // Only the candidate positions are scored and drawn (C of them).
      const at::Tensor where = candidates.nonzero().squeeze(1);       // (C)
      const at::Tensor filtered = d.picker.log_probs(lp[i].index_select(0, where));  // (C, V) float64
      const at::Tensor drawn =                                        // (C): Gumbel-max on the same filtered distribution
          (r.picker.greedy ? filtered : filtered + gumbel_noise(filtered.sizes(), d.gens[i]).to(device)).argmax(-1);
      const at::Tensor current = x[i].index_select(0, where);         // (C)
      const at::Tensor tokens = torch::where(current == d.special.mask, drawn, current);  // revealed tokens keep their value
      at::Tensor score;                                               // (C)
      if (r.confidence == "margin") {
        const at::Tensor top2 = std::get<0>(filtered.exp().topk(2, -1));
        score = top2.select(1, 0) - top2.select(1, 1);
      } else if (r.confidence == "entropy") {
        const at::Tensor p = filtered.exp();
        score = (p * filtered.clamp_min(-1e300)).nan_to_num(0.0).sum(-1);  // −H
      } else {
        score = filtered.gather(-1, tokens.unsqueeze(-1)).squeeze(-1);       // log p of the (drawn or kept) token
      }
      const at::Tensor chosen = std::get<1>(score.topk(keep));  // indices into the candidates
      if (r.remask) x[i].masked_fill_(candidates, d.special.mask);
      x[i].index_put_({where.index({chosen})}, tokens.index({chosen}));
    }
    d.notify(x);
  }
}

// With n masked tokens at time t, each still masked w.p. m(s)/m(t) at s < t
// (m = 1 − α), the first of them is revealed when m(s) = m(t)·u^{1/n}; s is
// found by bisection, vectorised over the samples (it is t·u^{1/n} for linear
// and log-linear). The token is one masked position chosen uniformly, drawn
// from p_θ(x0 | x_t) (Zheng et al. 2024, arXiv 2409.02908, Alg. 1).
void first_hitting(Denoiser& d, at::Tensor& x) {
  const std::int64_t n_rows = x.size(0);
  const std::int64_t mask = d.special.mask;
  at::Tensor t = torch::ones({n_rows}, torch::kFloat64);  // (N) current time of each sample
  d.out.times.assign(static_cast<std::size_t>(n_rows), {});
  auto mask_prob = [&](const at::Tensor& v) { return 1.0 - d.schedule.alpha(v); };
  while ((x == mask).any().item<bool>()) {
    const at::Tensor counts = (x == mask).sum(1).cpu().to(torch::kFloat64);  // (N)
    std::vector<double> u(static_cast<std::size_t>(n_rows), 1.0);
    for (std::int64_t i = 0; i < n_rows; ++i)
      if (counts[i].item<double>() > 0)
        u[static_cast<std::size_t>(i)] = at::rand({1}, d.gens[i], torch::kFloat64).clamp_min(1e-300).item<double>();
    // Bisection for all samples at once: mask_prob(s) = mask_prob(t)·u^{1/n}.
    const at::Tensor target = mask_prob(t) * torch::pow(torch::tensor(u, torch::kFloat64), 1.0 / counts.clamp_min(1));
    at::Tensor lo = torch::zeros_like(t), hi = t.clone();
    for (int it = 0; it < 60; ++it) {
      const at::Tensor mid = 0.5 * (lo + hi);
      const at::Tensor below = mask_prob(mid) < target;
      lo = torch::where(below, mid, lo);
      hi = torch::where(below, hi, mid);
    }
    const at::Tensor next_t = torch::where(counts > 0, 0.5 * (lo + hi), t);  // finished samples keep their time
    const at::Tensor lp = d.log_probs(x, next_t);
    for (std::int64_t i = 0; i < n_rows; ++i) {
      const at::Tensor positions = (x[i] == mask).nonzero().squeeze(1).cpu();
      if (positions.numel() == 0) continue;
      const auto pick = at::randint(positions.numel(), {1}, d.gens[i], torch::kLong).item<std::int64_t>();
      const auto pos = positions[pick].item<std::int64_t>();
      x[i][pos] = d.picker.pick(lp[i][pos].unsqueeze(0), d.gens[i]).item<std::int64_t>();
      d.out.times[static_cast<std::size_t>(i)].push_back(next_t[i].item<double>());
    }
    t = next_t;
    d.notify(x);
  }
}

}  // namespace unmask::sampling
