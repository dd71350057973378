// `unmask sample` for the CLI (torch-free header): the request as the command
// line gives it, and the samples as text, ids and counts, which the CLI
// prints or writes as JSONL.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

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
  std::string unmask = "schedule";     // confidence sampler: schedule | threshold | factor (parallel decoding)
  double threshold = 0.9;              // --unmask threshold: τ
  double factor = 1.0;                 // --unmask factor: f
  std::string remdm = "cap";           // remdm sampler: cap | rescale | conf | loop
  double eta = -1;                     // remdm: η (< 0: the strategy's default)
  double t_on = 0.55, t_off = 0.05, alpha_on = 0.9;  // remdm loop
  std::int64_t block_size = 16;        // semi_ar sampler: tokens per block
  std::string inner = "ancestral";     // semi_ar sampler: the sampler inside each block
  std::string semi_ar_style;           // "": sample.semi_ar_style (llada | mdlm)
  bool mask_bos = false;               // true: BOS starts masked (else sample.mask_bos)
  bool cuda_graph = false;             // capture the denoiser call in a CUDA graph (CUDA only)
  bool no_kv_cache = false;            // bd3lm/ar: recompute the prefix every call
  std::string precision = "run";       // run (the checkpoint's train.precision) | fp32 | bf16 (CUDA autocast)
  bool deterministic = false;          // fp32 and deterministic kernels: run-to-run identical tokens on a GPU
  std::string cache = "none";          // semi_ar over bert/dit: none | prefix | dual (Fast-dLLM, approximate)
  std::int64_t cache_refresh = 0;      // --cache prefix|dual: calls between full passes in a block (0: block start)
  std::string draw = "exact";          // exact | gumbel64 | gumbel32 (token_picker.h)
  // Called after every step with the first sample's canvas as text, still
  // masked positions shown as "_" (--show-steps).
  std::function<void(std::int64_t step, const std::string& canvas)> on_step;
};

struct SampleRow {
  std::string text;                       // decoded, BOS dropped (pad mode: cut at the first EOS past the prompt)
  std::vector<std::int64_t> ids;          // BOS included; pad mode: through that EOS
  std::vector<std::int64_t> reveal_step;  // per id: the step that gave it its final token (0: fixed)
  std::uint64_t seed = 0;                 // the sample's stream seed
  std::string prompt;                     // its prompt template ("" without prompts)
};

struct SampleOutput {
  std::vector<SampleRow> rows;
  std::string sampler;
  std::int64_t steps = 0;
  std::int64_t network_calls = 0;
  std::int64_t calls_saved = 0;
  double seconds = 0;
  std::vector<std::int64_t> calls_per_block;  // semi_ar and bd3lm: network calls of each block
  std::int64_t positions_computed = 0;        // canvas positions run through the network (per row, all calls)
  std::string tokenizer;                  // fingerprint of the model's tokenizer
  bool ema = false;
};

SampleOutput run_sampling(const SampleCliRequest& request);

// The JSONL of `unmask sample --out` (one object per sample; docs/SAMPLING.md).
std::string sample_jsonl(const SampleOutput& output);

}  // namespace unmask
