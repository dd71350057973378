// The CLI's subcommands register themselves here; main() parses and runs the
// one that was chosen. The CLI only parses and dispatches (docs/ARCHITECTURE.md).
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace unmask::cli {

// Registers `run` to be called when `command` was the one parsed.
void on_run(CLI::App* command, std::function<void()> run);
// The action of the subcommand that was parsed, if any.
std::function<void()> parsed_action();

void add_config_commands(CLI::App& app);
void add_tokenizer_commands(CLI::App& app);
void add_data_commands(CLI::App& app);
void add_train_command(CLI::App& app);
void add_sample_command(CLI::App& app);
void add_eval_commands(CLI::App& app);
void add_interop_commands(CLI::App& app);
void add_serve_command(CLI::App& app);

// --device (auto | cpu | cuda) and --precision (run | fp32 | bf16) of the
// commands that load a checkpoint.
void add_device_options(CLI::App* command, std::string& device, std::string& precision);

std::vector<std::filesystem::path> to_paths(const std::vector<std::string>& items);

}  // namespace unmask::cli
