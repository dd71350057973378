// Entry points of `unmask eval ppl|gen-ppl|all` for the CLI (torch-free
// header; see docs/ARCHITECTURE.md). Each returns the JSON report that
// `--json` prints; docs/EVALUATION.md documents every field.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace unmask {

struct EvalPplRequest {
  std::string checkpoint;        // run dir (its latest) or checkpoint dir
  std::string data;              // prepared data dir ("" = data.path of the checkpoint's config)
  std::string split;             // "" = eval.split
  std::int64_t batch_size = -1;  // < 0: eval.batch_size
  std::int64_t draws = -1;       // < 0: eval.draws (Monte-Carlo rounds, continuous time)
  std::int64_t stride = -1;      // < 0: eval.stride (discrete T)
  std::string stride_mode;       // "": eval.stride_mode
  std::int64_t max_rows = -1;    // < 0: eval.max_rows (0 = all)
  std::int64_t seed = -1;        // < 0: the config's seed
  std::int64_t discrete_T = 0;   // > 0: a continuous-time mdlm checkpoint's discrete-time ELBO with T steps
  std::string device = "auto";
  std::string precision = "run";  // run (the checkpoint's train.precision) | fp32 | bf16 (CUDA autocast)
  bool no_ema = false;
  bool progress = true;
};
nlohmann::ordered_json run_eval_ppl(const EvalPplRequest& request);

struct EvalGenPplRequest {
  std::string samples;           // `unmask sample --out` JSONL, or plain text (one sample per line)
  std::string scorer;            // an ar checkpoint (run or checkpoint dir)
  std::string device = "auto";
  std::string precision = "run";  // run (the checkpoint's train.precision) | fp32 | bf16 (CUDA autocast)
  std::int64_t batch_size = 16;
  bool retokenize = false;       // score the text with the scorer's tokenizer even when the ids came from another
};
nlohmann::ordered_json run_eval_gen_ppl(const EvalGenPplRequest& request);

struct EvalMauveRequest {
  std::string samples;           // generated texts: `unmask sample --out` JSONL, or plain text (one per line)
  std::string refs;              // reference texts, in the same formats
  std::string scorer;            // a GPT-2 imported with `unmask import hf` (gpt2-large, as mauve-text uses)
  std::string device = "auto";
  std::string precision = "run";  // run (the checkpoint's train.precision) | fp32 | bf16 (CUDA autocast)
  std::int64_t max_text_length = 1024;  // tokens per text (mauve-text's max_text_length)
  std::int64_t batch_size = 16;
  std::int64_t buckets = 0;      // k-means clusters; 0: max(2, round(min(n_p, n_q) / 10))
  std::int64_t seed = 25;        // k-means starts
};
// MAUVE of the samples against the references (eval/mauve.h).
nlohmann::ordered_json run_eval_mauve(const EvalMauveRequest& request);

struct EvalAllRequest {
  std::string checkpoint;
  std::string data;              // "" = data.path of the checkpoint's config
  std::string scorer;            // "" = eval.scorer ("" there too: gen-ppl is skipped, said in the report)
  std::vector<std::string> refs; // BLEU references ("" = the evaluated split's documents)
  std::string out;               // "" = the run dir (or the checkpoint dir outside a run)
  std::string device = "auto";
  std::string precision = "run";  // run (the checkpoint's train.precision) | fp32 | bf16 (CUDA autocast)
  EvalPplRequest ppl;            // split, draws, stride, ... for the perplexity part
};
// Samples with the configured sampler, then ppl, BLEU, self-BLEU, gen-ppl,
// entropy and (with a GPT-2 scorer) MAUVE against the references; writes
// eval.json, eval.md and eval-samples.jsonl into `out`.
nlohmann::ordered_json run_eval_all(const EvalAllRequest& request);

// The Markdown table of an `eval all` report.
std::string eval_markdown(const nlohmann::ordered_json& report);

}  // namespace unmask
