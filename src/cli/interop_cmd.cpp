// `unmask import hf` and `unmask export hf`: Hugging Face model directories in
// and out (the work is in src/interop/, behind the tensor module).
#include <iostream>

#include "commands.h"
#include "torch_commands.h"

namespace unmask::cli {
namespace {

void print_summary(const nlohmann::ordered_json& j, bool json) {
  if (json) {
    std::cout << j.dump() << "\n";
    return;
  }
  for (const auto& [key, value] : j.items()) {
    if (value.is_array()) {
      std::cout << key << ": " << value.size() << (value.empty() ? "" : " (" + value.dump() + ")") << "\n";
    } else {
      std::cout << key << ": " << (value.is_string() ? value.get<std::string>() : value.dump()) << "\n";
    }
  }
}

}  // namespace

void add_interop_commands(CLI::App& app) {
  auto* import_group = app.add_subcommand("import", "Convert models from other formats into unmask runs");
  import_group->require_subcommand(1);
  {
    auto* cmd = import_group->add_subcommand(
        "hf", "An HF model directory (BertForMaskedLM, RobertaForMaskedLM, GPT2LMHeadModel, MDLM; safetensors) "
              "→ an unmask run with a step-0 checkpoint");
    auto q = std::make_shared<ImportHfRequest>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("--from", q->from, "HF model directory: config.json, model.safetensors, tokenizer files")->required();
    cmd->add_option("--out", q->out, "run directory to create")->required();
    cmd->add_option("--set", q->sets, "override a non-architecture key of the written config, e.g. "
                                      "--set diffusion.objective=roberta_diffusion (repeatable)");
    cmd->add_flag("--json", *json, "print one JSON object");
    on_run(cmd, [q, json] { print_summary(torch_commands().import_hf(*q), *json); });
  }
  auto* export_group = app.add_subcommand("export", "Write unmask checkpoints in other formats");
  export_group->require_subcommand(1);
  {
    auto* cmd = export_group->add_subcommand(
        "hf", "A bert checkpoint → an HF directory that transformers loads as BertForMaskedLM / RobertaForMaskedLM");
    auto q = std::make_shared<ExportHfRequest>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("--checkpoint", q->checkpoint, "run directory (its latest checkpoint) or checkpoint directory")
        ->required();
    cmd->add_option("--out", q->out, "HF model directory to create")->required();
    cmd->add_flag("--no-ema", q->no_ema, "export the raw weights, not the EMA");
    cmd->add_flag("--json", *json, "print one JSON object");
    on_run(cmd, [q, json] { print_summary(torch_commands().export_hf(*q), *json); });
  }
}

}  // namespace unmask::cli
