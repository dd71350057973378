// `unmask config dump`: print the resolved config tree, or the list of keys.
#include <fmt/format.h>

#include <iostream>

#include "commands.h"
#include "unmask/config.h"

namespace unmask::cli {

void add_config_commands(CLI::App& app) {
  auto* config = app.add_subcommand("config", "Inspect the configuration tree");
  config->require_subcommand(1);
  auto* dump = config->add_subcommand("dump", "Print the resolved config (defaults, then files, then --set), after checking it");
  struct Args {
    std::vector<std::string> files, sets;
    bool keys = false;
  };
  auto args = std::make_shared<Args>();
  dump->add_option("--config", args->files, "JSON config files, merged in order");
  dump->add_option("--set", args->sets, "override a key: --set train.lr=1e-4 (repeatable)");
  dump->add_flag("--keys", args->keys, "list every key with its type, default and meaning");
  on_run(dump, [args] {
    Json resolved;
    validate_run_config(load_config(args->files, args->sets, &resolved));
    if (!args->keys) {
      std::cout << resolved.dump(2) << "\n";
      return;
    }
    for (const auto& key : config_keys()) {
      const Json* node = &resolved;
      std::string rest = key.path;
      for (auto dot = rest.find('.'); dot != std::string::npos; dot = rest.find('.')) {
        node = &node->at(rest.substr(0, dot));
        rest = rest.substr(dot + 1);
      }
      std::string doc = key.doc;
      if (!key.choices.empty()) {
        doc += " (";
        for (std::size_t i = 0; i < key.choices.size(); ++i) doc += (i ? " | " : "") + key.choices[i];
        doc += ")";
      }
      std::cout << fmt::format("{:<30} {:<8} {:<14} {}\n", key.path, kind_name(key.kind), node->at(rest).dump(), doc);
    }
  });
}

}  // namespace unmask::cli
