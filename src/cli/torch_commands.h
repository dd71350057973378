// The commands that need tensors (train, sample, eval ppl/gen-ppl/all) live
// in a module, libunmask_torch_cmds.so, that the `unmask` binary opens on
// first use: the commands without tensors (tokenizer, data, config, eval
// bleu, every --help) never load LibTorch. The module resolves unmask_core's
// symbols against the binary (one copy of every global: the log level, the
// registries), so an unmask::Error thrown inside it is caught by main().
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "unmask/app/eval.h"
#include "unmask/app/interop.h"
#include "unmask/app/sample.h"
#include "unmask/app/train.h"
#include "unmask/serve/server.h"

namespace unmask::cli {

// Bumped whenever a request struct or this table changes: a module from
// another build is refused instead of misread.
inline constexpr std::uint32_t kTorchCommandsAbi = 8;

struct TorchCommands {
  std::uint32_t abi;
  long long (*train)(const TrainRequest&);
  SampleOutput (*sample)(const SampleCliRequest&);
  nlohmann::ordered_json (*eval_ppl)(const EvalPplRequest&);
  nlohmann::ordered_json (*eval_gen_ppl)(const EvalGenPplRequest&);
  nlohmann::ordered_json (*eval_all)(const EvalAllRequest&);
  std::string (*eval_markdown)(const nlohmann::ordered_json&);
  nlohmann::ordered_json (*import_hf)(const ImportHfRequest&);
  nlohmann::ordered_json (*export_hf)(const ExportHfRequest&);
  nlohmann::ordered_json (*eval_mauve)(const EvalMauveRequest&);
  int (*serve)(const ServeRequest&);
};

// The module's table, loading it on the first call: UNMASK_TORCH_MODULE if
// set, else libunmask_torch_cmds.so next to the binary. Error (exit 1) naming
// the file and the loader's reason when it cannot be loaded.
const TorchCommands& torch_commands();

}  // namespace unmask::cli

// Defined by the module.
extern "C" const unmask::cli::TorchCommands* unmask_torch_commands();
