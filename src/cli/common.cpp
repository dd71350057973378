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

std::vector<std::filesystem::path> to_paths(const std::vector<std::string>& items) {
  return {items.begin(), items.end()};
}

}  // namespace unmask::cli
