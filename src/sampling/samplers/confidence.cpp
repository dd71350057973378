// `confidence`: MaskGIT (Chang et al. 2022) / LLaDA low-confidence remasking
// decoding, with Mask-Predict's re-masking (Ghazvininejad et al. 2019) as an
// option: each step reveals the most confident of the candidate positions,
// as many as the schedule says, or (Fast-dLLM, Wu et al. 2025, parallel
// decoding) every one confident enough: --unmask threshold|factor.
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "../step_runner.h"
#include "../strategies.h"
#include "unmask/util/error.h"

namespace unmask::sampling {
namespace {

// At each of `steps` steps every candidate position gets a drawn token (draw 0)
// and a confidence: its log-probability (maxprob), the top-1 − top-2 margin,
// or minus the entropy. Without re-masking the candidates are the masked
// positions and the k most confident are revealed; with it (Mask-Predict,
// Ghazvininejad et al. 2019) revealed tokens are re-scored under the current
// prediction and every generated position competes, so low-confidence tokens
// go back to [MASK]. Either way round(total · left(n)) positions stay masked
// after step n, left = 1 − n/S (linear) or cos(π/2 · n/S) (cosine, MaskGIT).
// Ties go to the earlier position. All rows at once: ranks by a stable sort.
void confidence_steps(Denoiser& d, at::Tensor& x, const at::Tensor& active, std::int64_t steps) {
  const SampleRequest& r = d.request;
  if (r.unmask != "schedule") throw Error("internal: confidence_steps runs --unmask schedule");
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
    const at::Tensor u_rows = at.rows(d.uniform(sites, n, length)), current = at.rows(xn);  // (C), (C)
    const std::int64_t chunk = d.chunk_rows(lp, d.picker.bytes_per_element() + 24);       // + the scores' exp
    const std::vector<at::Tensor> drawn = at.map_rows(lp, chunk, [&](const at::Tensor& rows, std::int64_t first,
                                                                     std::int64_t count) {
      // (c, V) filtered log-probabilities (float64), or the network's own when there is nothing to filter
      const at::Tensor filtered = d.picker.identity() ? rows : d.picker.log_probs(rows);
      const at::Tensor mine = current.narrow(0, first, count);                   // (c)
      const at::Tensor tokens = torch::where(mine == d.special.mask,             // revealed tokens keep their value
                                             d.picker.draw_filtered(filtered, u_rows.narrow(0, first, count)), mine);
      at::Tensor score;                                                          // (c)
      if (r.confidence == "margin") {
        const at::Tensor top2 = std::get<0>(filtered.exp().topk(2, -1));
        score = top2.select(1, 0) - top2.select(1, 1);
      } else if (r.confidence == "entropy") {
        const at::Tensor p = filtered.exp();
        score = (p * filtered).nan_to_num(0.0).sum(-1);  // −H (0 · log 0 = 0)
      } else {
        score = filtered.gather(-1, tokens.unsqueeze(-1)).squeeze(-1);  // log p of the (drawn or kept) token
      }
      return std::vector<at::Tensor>{tokens, score.to(torch::kFloat64)};
    });
    const at::Tensor &tokens = drawn[0], &score = drawn[1];  // (C), (C)
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

// Fast-dLLM's parallel decoding (Wu et al. 2025, arXiv 2505.22618;
// llada/generate.py get_transfer_index): every masked candidate gets x̂ (the
// draw, or the argmax at temperature 0) and c = p(x̂); a step reveals
//   threshold: every candidate with c ≥ τ, and always the most confident;
//   factor:    the longest prefix of the candidates sorted by c with
//              c₍ₖ₎ ≥ 1 − f/(k + 1) for rank k = 1, 2, … (the first always).
// No step count: the loop runs until no candidate is left (at most one step
// per candidate). The network sees each row's masked fraction as its time.
void parallel_steps(Denoiser& d, at::Tensor& x, const at::Tensor& active) {
  const SampleRequest& r = d.request;
  const bool by_threshold = r.unmask == "threshold";
  const std::int64_t n_rows = x.size(0), length = x.size(1);
  const auto f64 = x.options().dtype(torch::kFloat64);
  const at::Tensor generated = open_positions(x, d.special.mask, active);     // (N, L) positions this call fills
  const at::Tensor totals = generated.sum(1, false, torch::kFloat64).clamp_min(1);  // (N)
  const at::Tensor position = torch::arange(length, x.options()).expand({n_rows, length});  // (N, L)
  // 1 − f/(k + 1) for ranks k = 1 … L: the factor rule's bar at each rank, (L) float64.
  const at::Tensor bar = 1.0 - r.factor / (torch::arange(1, length + 1, f64) + 1.0);
  const std::int64_t max_steps = generated.sum(1).max().item<std::int64_t>();  // read once, before the loop
  const at::Tensor sites = d.sites(std::max<std::int64_t>(1, max_steps), 0);   // (S)
  StepRunner step(d, [&](const std::vector<at::Tensor>& in) {  // canvas, index → canvas
    const at::Tensor &xn = in[0], &n = in[1];
    const at::Tensor candidates = (xn == d.special.mask).logical_and(generated);  // (N, L)
    const at::Tensor t = candidates.sum(1, false, torch::kFloat64) / totals;        // (N) masked fraction
    const at::Tensor lp = d.log_probs(xn, t);
    const Positions at(candidates, d.dense);
    const at::Tensor u_rows = at.rows(d.uniform(sites, n, length));  // (C)
    const std::vector<at::Tensor> drawn = at.map_rows(
        lp, d.chunk_rows(lp, d.picker.bytes_per_element()),
        [&](const at::Tensor& rows, std::int64_t first, std::int64_t count) {
          const at::Tensor filtered = d.picker.identity() ? rows : d.picker.log_probs(rows);    // (c, V)
          const at::Tensor tokens = d.picker.draw_filtered(filtered, u_rows.narrow(0, first, count));  // (c)
          return std::vector<at::Tensor>{
              tokens, filtered.gather(-1, tokens.unsqueeze(-1)).squeeze(-1).to(torch::kFloat64).exp()};  // p(x̂)
        });
    const at::Tensor &tokens = drawn[0], &c = drawn[1];  // (C), (C)
    const at::Tensor scores = at.put(c, torch::full({n_rows, length}, -INFINITY, f64));        // (N, L)
    const auto [sorted, order] = scores.sort(/*stable=*/true, 1, /*descending=*/true);         // (N, L)
    const at::Tensor rank = torch::empty_like(order).scatter_(1, order, position);             // (N, L) 0 = most confident
    at::Tensor chosen;
    if (by_threshold) {
      chosen = candidates.logical_and(scores.ge(r.threshold).logical_or(rank == 0));
    } else {
      const at::Tensor prefix = sorted.ge(bar.unsqueeze(0)).to(torch::kLong).cumprod(1).sum(1);  // (N)
      chosen = candidates.logical_and(rank < prefix.clamp_min(1).unsqueeze(1));
    }
    return std::vector<at::Tensor>{torch::where(chosen, at.put(tokens, xn), xn)};
  });
  for (std::int64_t n = 0; n < max_steps; ++n) {
    if (d.check_at(n) && !(x == d.special.mask).logical_and(generated).any().item<bool>()) break;
    x = step({x}, n)[0];
    d.notify(x);
  }
}

class Confidence final : public Strategy {
 public:
  void denoise(Denoiser& d, at::Tensor& x, const at::Tensor& active, std::int64_t steps) const override {
    if (d.request.unmask == "schedule") confidence_steps(d, x, active, steps);
    else parallel_steps(d, x, active);
  }
};

}  // namespace

std::unique_ptr<Strategy> make_confidence_sampler() { return std::make_unique<Confidence>(); }

}  // namespace unmask::sampling
