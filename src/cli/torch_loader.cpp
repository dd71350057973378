// Opening libunmask_torch_cmds.so on first use (see torch_commands.h).
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "torch_commands.h"
#include "unmask/util/error.h"

namespace unmask::cli {
namespace {

std::filesystem::path module_path() {
  if (const char* env = std::getenv("UNMASK_TORCH_MODULE"); env && *env) return env;
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return (ec ? std::filesystem::path(".") : self.parent_path()) / "libunmask_torch_cmds.so";
}

const TorchCommands& load() {
  const auto path = module_path();
  const std::string hint = "; train, sample and eval ppl/gen-ppl/all need it (build it with scripts/setup.sh, or point "
                           "UNMASK_TORCH_MODULE at it)";
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) throw Error("cannot load the LibTorch part of unmask, " + path.string() + ": " + ::dlerror() + hint);
  using Entry = const TorchCommands* (*)();
  const auto entry = reinterpret_cast<Entry>(::dlsym(handle, "unmask_torch_commands"));
  if (!entry) throw Error(path.string() + " is not unmask's LibTorch module (no unmask_torch_commands)" + hint);
  const TorchCommands* table = entry();
  if (table->abi != kTorchCommandsAbi)
    throw Error(path.string() + " was built for another version of unmask (interface " + std::to_string(table->abi) +
                ", this binary needs " + std::to_string(kTorchCommandsAbi) + ")" + hint);
  return *table;
}

}  // namespace

const TorchCommands& torch_commands() {
  static const TorchCommands& table = load();  // a failed load throws and is retried on the next call
  return table;
}

}  // namespace unmask::cli
