// The one place a run's config plus what a caller changes becomes a
// SampleRequest: `unmask sample`, `eval all`, the trainer's previews, the
// benchmarks and the server all build their requests here, so they cannot
// drift (the model's context, the discrete-time grid, the prompt templates).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "unmask/config.h"
#include "unmask/sampling/sampler.h"
#include "unmask/tokenizer/tokenizer.h"

namespace unmask {

// Unset fields take the run config's `sample` section (or the defaults of
// SampleRequest where the config has no key).
struct SampleOverrides {
  std::optional<std::string> sampler, inner, filter, semi_ar_style, confidence, k_schedule, draw, unmask, remdm, cache;
  std::optional<double> threshold, factor, eta, t_on, t_off, alpha_on;
  std::optional<std::int64_t> num, length, steps, top_k, block_size, cache_refresh;
  std::optional<double> temperature, top_p;
  std::optional<std::uint64_t> seed;  // else the run's seed
  std::optional<bool> mask_bos, remask, kv_cache;
  // Prompt templates (text; [MASK:n] spans are infilled); sample i uses
  // prompts[i mod P].
  std::vector<std::string> prompts;
};

SampleRequest sample_request(const RunConfig& config, const Tokenizer& tokenizer, const SampleOverrides& overrides);

// The ids of a prompt template: its text encoded, each [MASK:n] span n [MASK] ids.
std::vector<int> encode_prompt_template(const Tokenizer& tokenizer, const std::string& text);

}  // namespace unmask
