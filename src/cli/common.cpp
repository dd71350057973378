// Command registry shared by the subcommand files.
#include "commands.h"

namespace unmask::cli {
namespace {

std::vector<std::pair<CLI::App*, std::function<void()>>>& actions() {
  static std::vector<std::pair<CLI::App*, std::function<void()>>> list;
  return list;
}

}  // namespace

void on_run(CLI::App* command, std::function<void()> run) { actions().emplace_back(command, std::move(run)); }

std::function<void()> parsed_action() {
  for (const auto& [command, run] : actions())
    if (command->parsed()) return run;
  return {};
}

void add_device_options(CLI::App* command, std::string& device, std::string& precision) {
  command->add_option("--device", device, "auto | cpu | cuda")->capture_default_str();
  command->add_option("--precision", precision,
                      "run (the checkpoint's train.precision) | fp32 | bf16: bf16 autocast on CUDA; fp32 makes GPU "
                      "comparisons exact")
      ->capture_default_str();
}

std::vector<std::filesystem::path> to_paths(const std::vector<std::string>& items) {
  return {items.begin(), items.end()};
}

}  // namespace unmask::cli
