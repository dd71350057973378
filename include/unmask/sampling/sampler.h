// Iterative denoising with a registered sampler (unmask/samplers.def lists
// them with what each supports; src/sampling/samplers/ has one file each).
// The ar objective decodes left to right, a bd3lm model block by block with
// the sampler inside each block. Every sample draws from its own
// counter-based stream, keyed by the run seed and its index (counter_rng.h),
// so sample i is the same whatever the batch size or the other samples; a
// step is the same tensor operations for any batch size, with no host
// synchronisation on CUDA (strategies.h).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "unmask/diffusion/objective.h"
#include "unmask/model/backbone.h"
#include "unmask/samplers.h"
#include "unmask/sampling/token_picker.h"
#include "unmask/tokenizer/tokenizer.h"

namespace unmask {

struct SampleRequest {
  SamplerId sampler = SamplerId::ancestral;
  std::int64_t num = 2;
  std::int64_t length = 64;           // BOS included
  std::int64_t steps = 64;            // denoising steps (masked objectives)
  std::int64_t T = 0;                 // discrete-time model (D3PM): ancestral times lie on k/T; 0 = continuous
  PickerOptions picker;
  std::string filter = "x0";          // where temperature/top-k/top-p apply: x0 (the x0 prediction) | reverse
                                      // (ancestral: the reverse step's V + 1 outcomes, [MASK] included; DiffusionBERT)
  std::uint64_t seed = 0;
  std::int64_t first_index = 0;       // stream of sample i is seeded with (seed, first_index + i)
  std::vector<int> prompt;            // tokens after BOS: fixed, except [MASK] ids, which are generated (infilling)
  std::vector<std::vector<int>> prompts;  // one prompt per sample (sample i uses prompts[i % size]); overrides `prompt`
  std::string confidence = "maxprob"; // confidence: maxprob | margin | entropy
  std::string k_schedule = "linear";  // confidence: how many positions per step (linear | cosine)
  bool remask = false;                // confidence: revealed low-confidence tokens may go back to [MASK]
  std::string unmask = "schedule";    // confidence: how many positions a step reveals: schedule (k_schedule over
                                      // `steps`) | threshold (every p(x̂) ≥ threshold) | factor (Fast-dLLM's rule);
                                      // with threshold and factor the steps are not fixed: a span ends when no mask is left
  double threshold = 0.9;             // confidence --unmask threshold: τ
  double factor = 1.0;                // confidence --unmask factor: f
  std::string remdm = "cap";          // remdm: cap | rescale | conf | loop (Wang et al. 2025)
  double eta = -1;                    // remdm: η (< 0: the strategy's default, cap 0.008, rescale 0.015, loop 0.02)
  double t_on = 0.55, t_off = 0.05, alpha_on = 0.9;  // remdm loop: the remasking phase t ∈ (t_off, t_on] at α = alpha_on
  std::int64_t block_size = 16;       // semi_ar: tokens per block (steps are shared out among blocks)
  SamplerId inner = SamplerId::ancestral;  // semi_ar: the sampler of each block (one that supports kInsideSemiAr)
  std::string semi_ar_style = "llada";  // semi_ar: llada (blocks share the steps) | mdlm (the first window
                                        // jointly, then each block, each with all the steps)
  bool mask_bos = false;              // start with BOS masked too, as MDLM's all-[MASK] prior (not for ar)
  std::int64_t context = 0;           // positions the model sees at once (0 = length); semi_ar slides a window when length exceeds it
  bool stop_at_eos = false;           // ar: stop once every sample has produced EOS (the rest is [PAD])
  std::int64_t check_every = 0;       // steps between host checks for "all revealed" / "all ended" (0: 1 on the
                                      // CPU, 8 on CUDA); the tokens never depend on it, the call count may
  bool dense_draws = false;           // draw at every position (the CUDA path) even on the CPU; same tokens
  bool cuda_graph = false;            // capture the denoiser call in a CUDA graph (CUDA only)
  bool kv_cache = true;               // bd3lm blocks and ar tokens attend to cached keys/values (when the
                                      // backbone has a cache); false recomputes the prefix every call
  std::string cache = "none";         // semi_ar over bert/dit: none | prefix | dual (Fast-dLLM's approximate caches:
                                      // keys/values of the positions outside the block from the block's first call)
  std::int64_t cache_refresh = 0;     // --cache prefix|dual: calls between full passes inside a block (0: the
                                      // block's first call only; 1: every call, which equals --cache none)
  bool autocast_bf16 = false;         // bf16 autocast for the network (CUDA)
  std::int64_t draw_budget = 0;       // bytes a step's draws may hold beyond the log-probabilities: rows are
                                      // drawn in chunks that fit (0: one bf16 logits tensor of the step,
                                      // N·L·V·2 bytes, at least 16 MiB on the CPU and on CUDA a quarter of the
                                      // free memory up to 1 GiB; docs/GPU.md); the tokens never depend on it
  // Called with the canvas (N, length so far) after every step (--show-steps, tests).
  std::function<void(const at::Tensor&)> on_step;
  // The denoiser call of the whole-canvas strategies and semi_ar without a
  // cache: (N, L) canvas and its (N, …) time condition → (N, L, V) float32
  // log-probabilities, [MASK] excluded. Unset: the model itself. `unmask
  // serve` merges the calls of concurrent requests into one batch through it
  // (serve/batcher.h); it may throw to cancel the request.
  std::function<at::Tensor(const at::Tensor&, const at::Tensor&)> network;
};

struct SampleResult {
  at::Tensor ids;                      // (num, length) int64 on the CPU
  std::int64_t network_calls = 0;
  std::int64_t calls_saved = 0;        // cached: steps whose prediction was reused instead of a network call
  double network_seconds = 0;          // wall time inside network calls (host side: on CUDA, launch time only)
  std::vector<std::uint64_t> seeds;    // per-sample stream seeds
  std::vector<std::vector<double>> times;  // first_hitting: the reveal times of each sample
  std::vector<std::int64_t> calls_per_block;  // semi_ar and bd3lm: network calls of each block, in order
  std::int64_t positions_computed = 0; // canvas positions run through the network, summed over calls (per row)
  at::Tensor reveal_step;              // (num, length) int64: the step that gave each position its final
                                       // token; 0 = fixed from the start (BOS, prompt, template);
                                       // steps + 1 = filled by the final greedy denoise
};

// Error for bad requests (a sampler that cannot run here, steps < 1, prompt too long, ...).
void check_sample_request(const SampleRequest& request, const Objective& objective, const SpecialTokens& special);
// Whether the request's network calls all go through `request.network`
// (the whole-canvas strategies and semi_ar without a cache, on a bert/dit
// diffusion model); ar and bd3lm models and --cache keep KV caches and call
// the model directly.
bool uses_network_hook(const SampleRequest& request, const Objective& objective);
// Runs `check_sample_request`, then denoises.
SampleResult run_sampler(BackboneImpl& model, const Objective& objective, const SpecialTokens& special,
                         const SampleRequest& request);

// Text of a sampled row, BOS dropped: cut at the first EOS, or (for rows of
// packed documents) every EOS shown as " [EOS] ".
// `keep_through`: the last fixed (prompt or template) position; an EOS at or
// before it never ends the text, so a template's fixed tail is never cut off.
std::string decode_sample(const Tokenizer& tokenizer, const at::Tensor& row, bool cut_at_eos,
                          std::int64_t keep_through = 0);

}  // namespace unmask
