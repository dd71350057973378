// `unmask train`.
#include "commands.h"
#include "torch_commands.h"

namespace unmask::cli {

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a model from a config, or resume a run");
  auto r = std::make_shared<TrainRequest>();
  cmd->add_option("--config", r->configs, "JSON config files, merged in order")->required()->expected(1, -1);
  cmd->add_option("--set", r->sets, "override a key: --set train.lr=1e-4 (repeatable)");
  cmd->add_option("--out", r->out, "run directory (default: out_dir of the config)");
  cmd->add_option("--resume", r->resume,
                  "continue the run: 'latest' (the run dir's newest checkpoint) or a checkpoint/run path")
      ->expected(0, 1)
      ->default_str("latest");
  cmd->add_option("--device", r->device, "auto | cpu | cuda (default: train.device)");
  on_run(cmd, [r, cmd] {
    TrainRequest request = *r;
    if (cmd->count("--resume") && request.resume.empty()) request.resume = "latest";
    torch_commands().train(request);
  });
}

}  // namespace unmask::cli
