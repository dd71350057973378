// The samplers behind `run_sampler` (internal): each registered sampler
// (unmask/samplers.def) is a Strategy, defined in samplers/<name>.cpp, that
// denoises the [MASK] positions of a canvas (N, L) lying in `active`, leaving
// every other position as it is. sampler.cpp runs the chosen one on the
// whole canvas, block_sampler.cpp inside each bd3lm block.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/record_function.h>

#include <chrono>
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "unmask/diffusion/objective.h"
#include "unmask/model/backbone.h"
#include "unmask/sampling/counter_rng.h"
#include "unmask/sampling/sampler.h"
#include "unmask/sampling/token_picker.h"
#include "positions.h"

namespace unmask::sampling {

class BlockCache;  // block_cache.h

// What every strategy needs: the denoiser, the schedule, the picker and the
// per-sample counter-based streams; `network` counts calls into the result.
// A step is a fixed sequence of tensor operations on the model's device,
// whatever the batch size, that takes its per-step values from tables on the
// device (step_runner.h); the host reads a value back only every
// `check_every` steps (has everything been revealed?), before the loop, and
// where a strategy's point is a host decision (`cached`: skip the call).
struct Denoiser {
  const Objective& objective;
  const NoiseSchedule& schedule;
  const SpecialTokens& special;
  const SampleRequest& request;
  const TokenPicker& picker;
  const CounterRng& rng;
  SampleResult& out;
  bool dense = false;            // draw rows at every position (positions.h): on CUDA, or asked for
  std::int64_t check_every = 1;  // steps between termination checks
  std::int64_t phase = 0;        // 0: the whole canvas; semi_ar block b: b + 1 (keys the draws)
  bool graph_steps = false;      // replay whole steps from a CUDA graph (step_runner.h)
  bool time_independent = false; // the network ignores t (model.time_conditioning=none): `cached` may reuse calls
  std::int64_t context = 0;      // positions the model sees at once (semi_ar's window)
  BlockCache* block_cache = nullptr;  // --cache prefix|dual: semi_ar's blocks call the network through it
  std::int64_t draw_floor = std::int64_t{16} << 20;  // the draws' budget never goes below it (min_draw_budget)
  // (N, L) canvas, (N) times in [0, 1] (one for all: (1)) → (N, L, V) float32 log p_θ(x0 | x_t), [MASK] excluded.
  std::function<at::Tensor(const at::Tensor&, const at::Tensor&)> network = nullptr;
  // Called with the canvas after every step.
  std::function<void(const at::Tensor&)> notify = nullptr;

  // Time t snapped up to the discrete grid k/T of the request (identity for continuous time).
  double on_grid(double t) const {
    return request.T > 0 ? std::ceil(t * static_cast<double>(request.T) - 1e-9) / static_cast<double>(request.T) : t;
  }

  // (S) int64 salts of draw `draw` at steps 0 … S−1 of this phase, on the device.
  at::Tensor sites(std::int64_t steps, std::int64_t draw) const { return rng.site_table(phase, steps, draw); }
  // (N, count) float64 uniforms of the step whose index n, (1) int64, picks its salt in `sites`.
  at::Tensor uniform(const at::Tensor& sites, const at::Tensor& n, std::int64_t count) const {
    return rng.uniform(sites.index_select(0, n), count);
  }
  // Whether step n checks for termination (a host read-back).
  bool check_at(std::int64_t n) const { return n % check_every == 0; }

  // Rows per chunk of a step's draws from lp (N, L, V), when an element of a
  // chunk needs `bytes` of temporaries (TokenPicker::bytes_per_element, plus
  // the gathered copy): the draws hold at most request.draw_budget, by
  // default one bf16 logits tensor, so that a step's peak stays within three
  // (the float32 lp is two). Positions::map_rows runs the chunks.
  std::int64_t chunk_rows(const at::Tensor& lp, std::int64_t bytes) const {
    const std::int64_t V = lp.size(-1);
    const std::int64_t budget =
        request.draw_budget > 0 ? request.draw_budget : std::max<std::int64_t>(lp.numel() * 2, draw_floor);
    return std::max<std::int64_t>(1, budget / (V * (bytes + 4)));  // + 4: the rows' gathered float32 copy
  }

  at::Tensor log_probs(const at::Tensor& x, const at::Tensor& t) {
    ++out.network_calls;
    RECORD_USER_SCOPE("unmask::network");  // one unit in profiles (and in the step-operation test)
    const auto start = std::chrono::steady_clock::now();
    at::Tensor lp = network(x, t.expand({x.size(0)}).contiguous());
    out.network_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return lp;
  }
};

// A registered sampler: denoises the [MASK] positions of x (N, L) inside
// `active` ((L) bool; undefined: the whole canvas) in `steps` steps.
class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual void denoise(Denoiser& d, at::Tensor& x, const at::Tensor& active, std::int64_t steps) const = 0;
};

// The strategy registered as `id` (strategies.cpp builds the table from samplers.def).
const Strategy& strategy(SamplerId id);

// (N, L) bool: masked positions of `x` (N, L) that `active` (L) allows.
inline at::Tensor open_positions(const at::Tensor& x, std::int64_t mask, const at::Tensor& active) {
  const at::Tensor masked = x == mask;
  return active.defined() ? masked.logical_and(active.unsqueeze(0)) : masked;
}

// The smallest budget for a step's draws on `device`: 16 MiB on the CPU
// (chunks cost nothing there); on CUDA a quarter of the free device memory,
// at most 1 GiB, so that small canvases draw in one chunk (few kernel
// launches) while large ones keep the three-logits bound. Read once per
// request, before the loop.
std::int64_t min_draw_budget(const at::Device& device);

// Tokens drawn by d.picker at the positions `at` from lp (N, L, V) with
// uniforms u (N, L) → (R) int64, in chunks of rows (Denoiser::chunk_rows).
at::Tensor draw_at(const Denoiser& d, const Positions& at, const at::Tensor& lp, const at::Tensor& u);

// α(t) of a token-independent schedule as a host number (α(0) = 1).
double alpha_at(const NoiseSchedule& schedule, double t);

// MDLM `ddpm` / D3PM ancestral steps from t = 1 to 0 (`reuse`: MDLM
// `ddpm_cache`), then a greedy denoise of what is still masked
// (samplers/ancestral.cpp; `cached` runs it with reuse).
void ancestral_steps(Denoiser& d, at::Tensor& x, const at::Tensor& active, std::int64_t steps, bool reuse);

}  // namespace unmask::sampling
