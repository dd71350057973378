// The entry point of libunmask_torch_cmds.so: the table of the commands that
// need tensors (see torch_commands.h). Compiled into the module only.
#include "torch_commands.h"
#include "unmask/util/allocator.h"

extern "C" __attribute__((visibility("default"))) const unmask::cli::TorchCommands* unmask_torch_commands() {
  unmask::keep_freed_memory();  // the tensor commands allocate and free the same large tensors every step
  static const unmask::cli::TorchCommands table = {
      unmask::cli::kTorchCommandsAbi, unmask::run_training,     unmask::run_sampling,  unmask::run_eval_ppl,
      unmask::run_eval_gen_ppl,       unmask::run_eval_all,     unmask::eval_markdown,
      unmask::run_import_hf,          unmask::run_export_hf,    unmask::run_eval_mauve,
      unmask::run_server,
  };
  return &table;
}
