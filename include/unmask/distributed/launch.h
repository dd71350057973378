// Where this process stands in a data-parallel job, read from the variables
// that launchers set: torchrun (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT) or Slurm's srun (SLURM_PROCID, SLURM_LOCALID,
// SLURM_STEP_NUM_TASKS/SLURM_NTASKS, SLURM_JOB_NODELIST). Torch-free.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace unmask {

struct LaunchInfo {
  std::int64_t rank = 0, local_rank = 0;
  std::int64_t world_size = 1, local_world_size = 1;
  std::string master_addr;     // host of the rendezvous store (rank 0 or torchrun's agent)
  std::int64_t master_port = 0;
  std::string launcher = "none";  // none | torchrun | slurm
  bool agent_store = false;    // torchrun's agent already serves the store: every rank is a client
  bool distributed() const { return world_size > 1; }
};

// Reads the launch from `getenv` (std::getenv in the CLI; a map in tests).
// `launcher` is dist.launcher (auto | torchrun | slurm | none): auto takes
// torchrun's variables when WORLD_SIZE is set, else Slurm's when srun started
// more than one task, else a single process. `default_port` (dist.port) is
// used when MASTER_PORT is unset (Slurm). Error with one line naming the
// variable that is missing or wrong and what would be valid.
LaunchInfo read_launch(const std::function<const char*(const char*)>& getenv, const std::string& launcher,
                       std::int64_t default_port);

// The first host of a Slurm hostlist: "gpu[003-008,010],cpu1" → "gpu003".
std::string first_slurm_host(const std::string& nodelist);

// "127.0.0.1", "localhost", "::1", ...: the rendezvous stays on this machine.
bool is_loopback_host(const std::string& host);

// NCCL needs one GPU per rank: "" when the node's `local_ranks` each have a
// GPU of the `gpus` it sees, else the line to say instead of NCCL's
// "Duplicate GPU detected" ("4 ranks share 1 GPU on this node: ...").
std::string gpu_sharing_problem(std::int64_t local_ranks, std::int64_t gpus);

}  // namespace unmask
