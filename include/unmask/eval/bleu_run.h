// Entry point of `unmask eval bleu` for the CLI: reads the files, applies each
// protocol's defaults, scores, and returns the JSON report and the one-line
// summary. Option rules and defaults are documented in docs/EVALUATION.md.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace unmask {

struct BleuCliRequest {
  std::string hyps;               // plain text (one per line) or `unmask sample` JSONL
  std::vector<std::string> refs;  // sacrebleu: one stream per file; diffusionbert: one pool
  bool self = false;              // score the hypotheses against each other (no --refs)
  std::string protocol;           // "": sacrebleu, but diffusionbert with --self
  std::string tokenize;           // "": 13a for sacrebleu, space for diffusionbert
  std::string smooth;             // "": exp (sacrebleu protocol only)
  double smooth_value = -1;       // < 0: the method's default (floor 0.1, add-k 1)
  bool effective_order = false;   // sacrebleu protocol only
  int max_order = 4;
  int threads = 0;                // 0 = all cores
  bool per_hypothesis = false;    // diffusionbert: add each hypothesis's NLTK score to the JSON
};

struct BleuReport {
  nlohmann::ordered_json json;  // `bleu` or `self_bleu` (0–100), precisions, bp, lengths, settings
  std::string summary;          // sacrebleu-like text line
};

BleuReport run_bleu(const BleuCliRequest& request);

}  // namespace unmask
