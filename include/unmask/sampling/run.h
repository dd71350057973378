// Entry point of `unmask sample` for the CLI (torch-free header).
#pragma once

#include <cstdint>
#include <string>

namespace unmask {

struct SampleCliRequest {
  std::string checkpoint;     // run dir (its latest) or checkpoint dir
  std::int64_t num = -1;      // -1: sample.num of the checkpoint's config
  std::int64_t length = -1;   // -1: sample.length
  std::int64_t steps = -1;    // -1: sample.steps
  std::string sampler;        // "": sample.sampler
  std::string prompt;
  std::string prompt_file;    // one prompt per line; sample i uses line i mod P (--num defaults to P)
  double temperature = -1;    // < 0: sample.temperature
  std::int64_t top_k = -1;    // < 0: sample.top_k
  double top_p = -1;          // < 0: sample.top_p
  std::string filter;         // "": sample.filter (x0 | reverse)
  std::int64_t seed = -1;     // < 0: the config's seed
  std::string out;            // JSONL file; "" = text to stdout
  std::string device = "auto";
  bool no_ema = false;        // use the raw weights even when the checkpoint has EMA
  std::string confidence = "maxprob";  // confidence sampler: maxprob | margin | entropy
  std::string k_schedule = "linear";   // confidence sampler: linear | cosine
  bool remask = false;                 // confidence sampler: low-confidence tokens may be re-masked
  std::int64_t block_size = 16;        // semi_ar sampler: tokens per block
  std::string inner = "ancestral";     // semi_ar sampler: ancestral | confidence inside each block
  std::string semi_ar_style;           // "": sample.semi_ar_style (llada | mdlm)
  bool mask_bos = false;               // true: BOS starts masked (else sample.mask_bos)
  bool cuda_graph = false;             // capture the denoiser call in a CUDA graph (CUDA only)
  bool no_kv_cache = false;            // bd3lm/ar: recompute the prefix every call
  std::string draw = "exact";          // exact | gumbel64 | gumbel32 (token_picker.h)
  bool show_steps = false;             // print the canvas of the first sample after every step (stderr)
};

void run_sampling(const SampleCliRequest& request);

}  // namespace unmask
