// The reverse-process loops behind `run_sampler` (internal): each denoises the
// [MASK] positions of a canvas (N, L) that lie in `active`, leaving every other
// position as it is. sampler.cpp composes them (blocks, sliding windows).
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <vector>

#include "unmask/diffusion/objective.h"
#include "unmask/model/backbone.h"
#include "unmask/sampling/sampler.h"
#include "unmask/sampling/token_picker.h"

namespace unmask::sampling {

// What every strategy needs: the denoiser, the schedule, the picker and one
// random stream per sample; `network` counts calls into the result.
struct Denoiser {
  const Objective& objective;
  const NoiseSchedule& schedule;
  const SpecialTokens& special;
  const SampleRequest& request;
  const TokenPicker& picker;
  std::vector<at::Generator>& gens;
  SampleResult& out;
  // (N, L) canvas, (N) times in [0, 1] → (N, L, V) float32 log p_θ(x0 | x_t), [MASK] excluded.
  std::function<at::Tensor(const at::Tensor&, const at::Tensor&)> network;
  // Called with the canvas after every step.
  std::function<void(const at::Tensor&)> notify;

  // Time t snapped up to the discrete grid k/T of the request (identity for continuous time).
  double on_grid(double t) const {
    return request.T > 0 ? std::ceil(t * static_cast<double>(request.T) - 1e-9) / static_cast<double>(request.T) : t;
  }

  at::Tensor log_probs(const at::Tensor& x, const at::Tensor& t) {
    ++out.network_calls;
    const auto start = std::chrono::steady_clock::now();
    at::Tensor lp = network(x, t);
    out.network_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return lp;
  }
};

// MDLM `ddpm` / D3PM ancestral steps from t = 1 to 0 (`cache`: MDLM `ddpm_cache`),
// then a greedy denoise of what is still masked.
void ancestral(Denoiser& d, at::Tensor& x, const at::Tensor& active, std::int64_t steps, bool cache);
// MaskGIT / LLaDA confidence decoding in `steps` steps (optionally re-masking).
void confidence(Denoiser& d, at::Tensor& x, const at::Tensor& active, std::int64_t steps);
// Zheng et al. 2024 first-hitting: one token and one network call per step.
void first_hitting(Denoiser& d, at::Tensor& x);

}  // namespace unmask::sampling
