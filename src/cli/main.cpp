// `unmask`: one binary, subcommands as in docs/CLI.md (the commands that need
// tensors in a module opened on first use: torch_commands.h). Bad input ends
// with one line on stderr and a non-zero exit: 1 for errors in the work, 2 for usage.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "unmask/util/error.h"
#include "unmask/util/log.h"

int main(int argc, char** argv) {
  using namespace unmask;
  log::init();
  CLI::App app{"unmask: train masked-diffusion language models and sample from them", "unmask"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  app.set_version_flag("--version", [] {
    return std::string("unmask ") + UNMASK_VERSION + " (LibTorch " + UNMASK_TORCH_VERSION + ", loaded by train, sample and eval)";
  });
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace | debug | info | warn | error | off")->capture_default_str();

  cli::add_tokenizer_commands(app);
  cli::add_data_commands(app);
  cli::add_train_command(app);
  cli::add_sample_command(app);
  cli::add_eval_commands(app);
  cli::add_serve_command(app);
  cli::add_interop_commands(app);
  cli::add_config_commands(app);

  // A word where a subcommand belongs that names none: say which would do.
  CLI::App* level = &app;
  for (int i = 1; i < argc && argv[i][0] != '-'; ++i) {
    CLI::App* sub = nullptr;
    for (CLI::App* candidate : level->get_subcommands({}))
      if (candidate->get_name() == argv[i]) sub = candidate;
    if (sub == nullptr) {
      if (level->get_require_subcommand_min() == 0) break;
      std::string valid;
      for (CLI::App* candidate : level->get_subcommands({}))
        valid += (valid.empty() ? "" : ", ") + candidate->get_name();
      const std::string where = level == &app ? "unmask" : "unmask " + level->get_name();
      std::fprintf(stderr, "unmask: error: '%s' is not a command of '%s' (valid: %s)\n", argv[i], where.c_str(),
                   valid.c_str());
      return 2;
    }
    level = sub;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::string what = e.what();
    if (what.empty()) what = e.get_name();
    std::fprintf(stderr, "unmask: error: %s (see 'unmask --help')\n", what.c_str());
    return 2;
  }
  try {
    log::set_level(log_level);
    const auto run = cli::parsed_action();
    if (!run) throw Error("choose a subcommand (see 'unmask --help')");
    run();
  } catch (const Error& e) {
    std::fprintf(stderr, "unmask: error: %s\n", e.what());
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {
    // An output directory that cannot be made or written (read-only, under
    // /proc, a missing parent on another mount): the operation and the path.
    std::string what = e.what();
    if (what.rfind("filesystem error: ", 0) == 0) what = what.substr(18);
    std::fprintf(stderr, "unmask: error: %s\n", what.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unmask: internal error: %s\n", e.what());
    return 1;
  }
  return 0;
}
