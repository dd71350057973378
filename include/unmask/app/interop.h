// Entry points of `unmask import hf` and `unmask export hf` for the CLI.
// Torch-free on purpose: the CLI is compiled without LibTorch's headers.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace unmask {

struct ImportHfRequest {
  std::string from;               // HF model directory
  std::string out;                // run directory to create (must not exist)
  std::vector<std::string> sets;  // "a.b=value" overrides of the written config
};

struct ExportHfRequest {
  std::string checkpoint;  // run or checkpoint directory of a bert model
  std::string out;         // HF model directory to create (must not exist)
  bool no_ema = false;     // the raw weights instead of the EMA
};

// Writes OUT as an unmask run whose checkpoints/step-0000000 holds the
// converted weights, the resolved config and the tokenizer; returns a summary
// (architecture, backbone, parameters, ignored HF tensors).
nlohmann::ordered_json run_import_hf(const ImportHfRequest& request);
// Writes OUT as an HF directory (config.json, model.safetensors,
// tokenizer.json) that transformers loads as BertForMaskedLM or
// RobertaForMaskedLM.
nlohmann::ordered_json run_export_hf(const ExportHfRequest& request);

}  // namespace unmask
