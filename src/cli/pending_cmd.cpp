// Subcommands of the CLI contract whose implementation arrives with later
// work (evaluation). They parse their documented options
// and then say clearly that they are not built yet.
#include "commands.h"
#include "unmask/util/error.h"

namespace unmask::cli {
namespace {

void pending(CLI::App* cmd, const std::string& name, const std::string& arrives_with) {
  cmd->allow_extras();
  on_run(cmd, [name, arrives_with] {
    throw Error("'unmask " + name + "' is not built yet in this version; it arrives with " + arrives_with);
  });
}

}  // namespace

void add_pending_commands(CLI::App& app) {
  auto* eval = app.add_subcommand("eval", "Evaluate checkpoints and samples (not built yet)");
  eval->require_subcommand(1);
  const char* kinds[][2] = {{"ppl", "ELBO perplexity of a checkpoint on prepared data"},
                            {"bleu", "corpus BLEU / self-BLEU of samples"},
                            {"gen-ppl", "perplexity of samples under an AR scorer"},
                            {"all", "samples, perplexity, BLEU and gen-perplexity in one report"}};
  for (const auto& kind : kinds)
    pending(eval->add_subcommand(kind[0], std::string(kind[1]) + " (not built yet)"), std::string("eval ") + kind[0],
            "the evaluation work");
}

}  // namespace unmask::cli
