// The JSONL lines of `unmask sample --out` and `eval all`'s eval-samples.jsonl
// (torch-free: the CLI writes them).
#include <nlohmann/json.hpp>

#include "unmask/app/sample.h"

namespace unmask {

std::string sample_jsonl(const SampleOutput& o) {
  std::string jsonl;
  for (const auto& row : o.rows) {
    nlohmann::json line = {{"text", row.text}, {"ids", row.ids}, {"seed", row.seed}, {"sampler", o.sampler},
                           {"steps", o.steps}, {"nfe", o.network_calls}, {"nfe_saved", o.calls_saved},
                           {"positions_computed", o.positions_computed},
                           {"seconds", o.seconds}, {"tokenizer", o.tokenizer}, {"reveal_step", row.reveal_step}};
    if (!row.prompt.empty()) line["prompt"] = row.prompt;
    if (!o.calls_per_block.empty()) line["nfe_per_block"] = o.calls_per_block;
    jsonl += line.dump() + "\n";
  }
  return jsonl;
}

}  // namespace unmask
