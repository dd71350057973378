// Generative perplexity: sample token ids scored by an autoregressive scorer
// checkpoint (an unmask `ar` model), in chunks of the scorer's context as
// MDLM's eval does; corpus-level exp(mean NLL) and per-sample values.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "unmask/eval/samples.h"
#include "unmask/run/run_model.h"

namespace unmask {

struct GenPplResult {
  double nll_per_token = 0;           // nats, over every scored token of every sample
  double gen_ppl = 0;                 // exp(nll_per_token)
  std::int64_t tokens = 0;            // scored tokens
  std::vector<double> sample_ppl;     // exp(mean NLL) of each sample (0 for samples with nothing to score)
  std::int64_t context = 0;           // the scorer's chunk length
};

// Error unless `scorer` is an autoregressive (ar) checkpoint.
void require_ar_scorer(const RunModel& scorer);

// `samples`: token ids of the scorer's tokenizer, BOS not included; each is
// scored as [BOS] ids, so the first token is predicted from BOS alone.
GenPplResult score_samples(RunModel& scorer, const std::vector<std::vector<std::int64_t>>& samples,
                           std::int64_t batch_size);

// The `eval gen-ppl` report of prepared samples: gen_ppl, entropy,
// diversity, per-sample values (docs/EVALUATION.md).
nlohmann::ordered_json gen_ppl_report(RunModel& scorer, const std::vector<eval_detail::ScoredSample>& samples,
                                      std::int64_t batch_size);

}  // namespace unmask
