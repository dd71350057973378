// Temperature / top-k / top-p filtering; float64 inverse-CDF draws, and the
// Gumbel-max draws of the Python stacks for comparison.
#include "unmask/sampling/token_picker.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "unmask/sampling/counter_rng.h"
#include "unmask/util/error.h"

namespace unmask {

TokenPicker::TokenPicker(PickerOptions options) : options_(options) {
  if (!(options_.temperature > 0)) throw Error("temperature must be positive");
  if (options_.top_k < 0) throw Error("top-k must be >= 0 (0 = off)");
  if (!(options_.top_p > 0 && options_.top_p <= 1)) throw Error("top-p must be in (0, 1]");
}

namespace {

// The first v with cdf[v] > u · cdf[last] for cumulative masses cdf (R, K)
// float64 → (R, 1). Since u · total < total the search ends on a v of
// positive mass: cdf[v] > target >= cdf[v − 1].
at::Tensor search(const at::Tensor& cdf, const at::Tensor& target_unclamped) {
  const at::Tensor total = cdf.narrow(-1, cdf.size(-1) - 1, 1);  // (R, 1)
  const at::Tensor target = torch::minimum(target_unclamped, torch::nextafter(total, torch::zeros_like(total)));
  return torch::searchsorted(cdf, target, /*out_int32=*/false, /*right=*/true);
}

constexpr std::int64_t kBlock = 64;  // tokens per block of the two-level search

// MDLM `_sample_categorical` (diffusion.py): argmax of p / (1e-10 − log(U + 1e-10))
// with U uniform over (R, V) in the given precision. The V uniforms of a row
// come from a SplitMix64 stream keyed by the row's own uniform u (its 53 bits),
// so sample i stays the same whatever the batch.
at::Tensor gumbel_max(const at::Tensor& lp, const at::Tensor& u, at::ScalarType dtype) {
  const at::Tensor keys = u.mul(0x1.0p53).to(torch::kLong);                  // (R)
  const at::Tensor noise = stream_uniform(keys, lp.size(-1), dtype);          // (R, V)
  const at::Tensor gumbel_norm = 1e-10 - (noise + 1e-10).log();              // (R, V)
  return (lp.to(dtype).exp() / gumbel_norm).argmax(-1);
}

// Float64 sums of the blocks of 64 of each row of a CPU matrix (R, V) of
// float or double → (R, ⌈V/64⌉), eight accumulators per block.
template <typename T>
at::Tensor cpu_block_sums(const at::Tensor& p) {
  const std::int64_t R = p.size(0), V = p.size(1), nb = (V + kBlock - 1) / kBlock;
  const at::Tensor in = p.contiguous();
  at::Tensor mass = torch::empty({R, nb}, in.options().dtype(torch::kFloat64));
  const T* src = in.data_ptr<T>();
  double* dst = mass.data_ptr<double>();
  at::parallel_for(0, R * nb, 256, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const std::int64_t row = i / nb, first = (i % nb) * kBlock, count = std::min(kBlock, V - first);
      const T* x = src + row * V + first;
      double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      std::int64_t j = 0;
      for (; j + 8 <= count; j += 8)
        for (int k = 0; k < 8; ++k) acc[k] += static_cast<double>(x[j + k]);
      for (; j < count; ++j) acc[0] += static_cast<double>(x[j]);
      dst[i] = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    }
  });
  return mass;
}

}  // namespace

// Each block summed in float64: a float32 sum would absorb a token 2^24 times
// lighter than its block, a truncation of the kind the float64 draw exists to
// avoid. On the CPU a loop of our own: ATen's float32 → float64 block
// reduction took 0.55 ms per 10^6 probabilities there, more than the exp
// before it (docs/BENCHMARKS.md, "One-pass draws"); elsewhere ATen's.
at::Tensor block_masses(const at::Tensor& p) {
  const std::int64_t R = p.size(0), V = p.size(1);
  if (p.is_cpu() && p.scalar_type() == torch::kFloat32) return cpu_block_sums<float>(p);
  if (p.is_cpu() && p.scalar_type() == torch::kFloat64) return cpu_block_sums<double>(p);
  const std::int64_t full = V / kBlock, body = full * kBlock;
  at::Tensor mass = p.narrow(-1, 0, body).view({R, full, kBlock}).sum(-1, false, torch::kFloat64);  // (R, full)
  return body < V ? torch::cat({mass, p.narrow(-1, body, V - body).sum(-1, true, torch::kFloat64)}, -1) : mass;
}

namespace {

// The first v with cdf[v] > t, t clamped below cdf[last] as `search` does:
// binary search over a float64 row of K cumulative masses.
std::int64_t search_row(const double* cdf, std::int64_t K, double t) {
  t = std::min(t, std::nextafter(cdf[K - 1], 0.0));
  return std::upper_bound(cdf, cdf + K, t) - cdf;
}

// inverse_cdf_ops row by row on the CPU, for probabilities p (R, V), V ≥ 256:
// the same float64 operations in the same order (block masses, their running
// sum, the target u · total, the block, the running sum inside it), so the
// same ids bitwise (tested), in one pass instead of about thirty operations.
template <typename T>
at::Tensor cpu_inverse_cdf(const at::Tensor& p, const at::Tensor& u) {
  const std::int64_t R = p.size(0), V = p.size(1);
  const at::Tensor in = p.contiguous(), uu = u.to(torch::kFloat64).contiguous();
  const at::Tensor cum = block_masses(in).cumsum(-1);  // (R, nb) float64
  const std::int64_t nb = cum.size(1);
  at::Tensor ids = torch::empty({R}, in.options().dtype(torch::kLong));
  const T* prob = in.data_ptr<T>();
  const double* c = cum.data_ptr<double>();
  const double* uniform = uu.data_ptr<double>();
  std::int64_t* out = ids.data_ptr<std::int64_t>();
  at::parallel_for(0, R, 64, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const double* row = c + r * nb;
      const double target = uniform[r] * row[nb - 1];
      const std::int64_t block = std::min(search_row(row, nb, target), nb - 1);
      const double before = block > 0 ? row[block - 1] : 0.0;
      double w[kBlock];
      double run = 0;
      for (std::int64_t j = 0; j < kBlock; ++j) {
        const std::int64_t v = block * kBlock + j;
        run += v < V ? static_cast<double>(prob[r * V + v]) : 0.0;
        w[j] = run;
      }
      out[r] = block * kBlock + std::min(search_row(w, kBlock, target - before), kBlock - 1);
    }
  });
  return ids;
}

}  // namespace

// Two levels, so that the float64 work is on V/64 block masses and one block
// of 64 per row, not on V cumulative sums: the block is drawn by its mass,
// then the token inside it by the remainder of the same uniform. Exact in
// float64 like a single cumulative sum, at about a third of its memory traffic.
at::Tensor inverse_cdf(const at::Tensor& log_probs, const at::Tensor& u) {
  const std::int64_t V = log_probs.size(-1);
  if (!log_probs.is_cpu() || V < 4 * kBlock) return inverse_cdf_ops(log_probs, u);
  const at::Tensor p = log_probs.exp();  // (R, V)
  return p.scalar_type() == torch::kFloat64 ? cpu_inverse_cdf<double>(p, u) : cpu_inverse_cdf<float>(p, u);
}

at::Tensor inverse_cdf_ops(const at::Tensor& log_probs, const at::Tensor& u) {
  const std::int64_t V = log_probs.size(-1);
  const at::Tensor p = log_probs.exp();  // (R, V)
  if (V < 4 * kBlock) return search(p.cumsum(-1, torch::kFloat64), u.unsqueeze(-1) * p.sum(-1, true, torch::kFloat64)).squeeze(-1);
  const at::Tensor cum = block_masses(p).cumsum(-1);                                       // (R, nb)
  const at::Tensor target = u.unsqueeze(-1) * cum.narrow(-1, cum.size(-1) - 1, 1);          // (R, 1)
  const at::Tensor block = search(cum, target);                                            // (R, 1)
  const at::Tensor before = torch::where(block > 0, cum.gather(-1, (block - 1).clamp_min(0)), 0.0);  // (R, 1)
  const at::Tensor index = block * kBlock + torch::arange(kBlock, block.options());        // (R, 64)
  const at::Tensor inside = index < V;
  const at::Tensor w = p.gather(-1, index.clamp_max(V - 1)).to(torch::kFloat64).masked_fill(inside.logical_not(), 0.0);
  const at::Tensor j = search(w.cumsum(-1), target - before);                              // (R, 1)
  return (block * kBlock + j).squeeze(-1);
}

at::Tensor TokenPicker::log_probs(const at::Tensor& logits) const {
  at::Tensor lp = torch::log_softmax(logits.to(torch::kFloat64) / options_.temperature, -1);  // (N, V)
  const double ninf = -std::numeric_limits<double>::infinity();
  if (options_.top_k > 0 && options_.top_k < lp.size(-1)) {
    const at::Tensor kth = std::get<0>(lp.topk(options_.top_k, -1)).narrow(-1, options_.top_k - 1, 1);  // (N, 1)
    lp = lp.masked_fill(lp < kth, ninf);
  }
  if (options_.top_p < 1) {
    // Keep the smallest set of most likely tokens whose mass reaches top_p.
    const auto [sorted, order] = lp.sort(-1, true);
    const at::Tensor mass_before = sorted.exp().cumsum(-1) - sorted.exp();  // mass of strictly better tokens
    const at::Tensor drop_sorted = mass_before >= options_.top_p;
    lp = lp.masked_fill(torch::zeros_like(drop_sorted).scatter(-1, order, drop_sorted), ninf);
  }
  return lp - torch::logsumexp(lp, -1, true);
}

std::int64_t TokenPicker::bytes_per_element() const {
  // Measured peaks (tests/unit/step_memory_test.cpp): about 70 B filtered, 12 B
  // plain on the CPU; the margin covers the dense path's ops on CUDA.
  if (options_.greedy && identity()) return 8;
  const std::int64_t draw = options_.draw == Draw::exact ? 16 : 32;  // probabilities, Gumbel noise
  return identity() ? draw : 112 + draw;
}

Draw parse_draw(const std::string& name) {
  if (name == "exact") return Draw::exact;
  if (name == "gumbel64") return Draw::gumbel64;
  if (name == "gumbel32") return Draw::gumbel32;
  throw Error("unknown draw '" + name + "' (valid: exact, gumbel64, gumbel32)");
}

at::Tensor TokenPicker::draw(const at::Tensor& lp, const at::Tensor& u) const {
  if (options_.greedy) return lp.argmax(-1);
  // Unfiltered rows need no renormalisation: the draw scales u by the row's mass.
  return draw_filtered(identity() ? lp : log_probs(lp), u);
}

at::Tensor TokenPicker::draw_filtered(const at::Tensor& filtered, const at::Tensor& u) const {
  if (options_.greedy) return filtered.argmax(-1);
  switch (options_.draw) {
    case Draw::gumbel64: return gumbel_max(filtered, u, torch::kFloat64);
    case Draw::gumbel32: return gumbel_max(filtered, u, torch::kFloat32);
    case Draw::exact: break;
  }
  return inverse_cdf(filtered, u);
}

}  // namespace unmask
