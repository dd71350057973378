// ELBO perplexity of a checkpoint on a prepared split, the way the papers
// compute it: continuous time by Monte-Carlo over t (antithetic draws within
// each round, rounds independent, so the standard error comes from the
// rounds; MDLM), discrete T by the sum over steps, with an optional stride
// that sums the KLs of the coarser s-step chain (DiffusionBERT
// compute_elbo.py) or weights every s-th one-step KL by s, AR exactly.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "unmask/run/run_model.h"

namespace unmask {

struct ElboOptions {
  std::string split = "test";
  std::int64_t batch_size = 32;
  std::int64_t draws = 4;        // continuous time: independent Monte-Carlo rounds over the split (≥ 1)
  std::int64_t stride = 1;       // discrete T: evaluate every stride-th step k = T, T − s, ...
  std::string stride_mode = "chain";  // chain: KL of the step k → k − s; weighted: s × the one-step KL at k
  std::int64_t max_rows = 0;     // 0 = the whole split
  std::uint64_t seed = 0;
  bool progress = true;
};

struct ElboResult {
  std::string method;            // monte_carlo | discrete_sum | exact
  double nelbo_per_token = 0;    // nats
  double std_error = -1;         // of nelbo_per_token over the Monte-Carlo rounds; < 0 when not estimated
  double ppl = 0;                // exp(nelbo_per_token), an upper bound for diffusion models
  double bpb = 0;                // bits per UTF-8 byte of the decoded text
  double per_word_ppl = 0;       // exp(NELBO / whitespace words): unmask's per-word figure
  double nelbo_per_row = 0;      // nats per row (sentence): what DiffusionBERT's compute_elbo.py prints
  std::int64_t tokens = 0, bytes = 0, words = 0, rows = 0;
  std::int64_t draws = 0, stride = 0, steps_evaluated = 0;
  std::string stride_mode;       // discrete_sum: chain | weighted
};

// Error for objectives that are not a likelihood bound (mlm, roberta_diffusion)
// and for data made with another tokenizer.
ElboResult evaluate_elbo(RunModel& model, const std::filesystem::path& data, const ElboOptions& options);

}  // namespace unmask
