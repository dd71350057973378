// Reading torchrun's and Slurm's launch variables (see distributed/launch.h). Every
// problem is one line that names the variable and what would be valid.
#include "unmask/distributed/launch.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "unmask/util/error.h"

namespace unmask {
namespace {

using Getenv = std::function<const char*(const char*)>;

std::string value_of(const Getenv& getenv, const char* name) {
  const char* v = getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

std::int64_t integer(const std::string& name, const std::string& text, std::int64_t min) {
  std::size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size() || v < min)
    throw Error(fmt::format("{}='{}' is not valid: expected an integer >= {}", name, text, min));
  return v;
}

// "4(x2),3" → 4: the tasks on the first node of a Slurm tasks-per-node list.
std::int64_t leading_count(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  return i == 0 ? 1 : std::stoll(text.substr(0, i));
}

const char* kTorchrunHint = "launch with 'torchrun --nproc-per-node=N --no-python unmask train ...'";

LaunchInfo from_torchrun(const Getenv& getenv) {
  LaunchInfo l;
  l.launcher = "torchrun";
  const std::string world = value_of(getenv, "WORLD_SIZE");
  if (world.empty()) throw Error(std::string("dist.launcher=torchrun but WORLD_SIZE is not set: ") + kTorchrunHint);
  l.world_size = integer("WORLD_SIZE", world, 1);
  const std::string rank = value_of(getenv, "RANK");
  if (rank.empty())
    throw Error(fmt::format("WORLD_SIZE={} is set but RANK is not: {}", world, kTorchrunHint));
  l.rank = integer("RANK", rank, 0);
  if (l.rank >= l.world_size)
    throw Error(fmt::format("RANK={} is outside [0, WORLD_SIZE={})", l.rank, l.world_size));
  const std::string local = value_of(getenv, "LOCAL_RANK");
  l.local_rank = local.empty() ? 0 : integer("LOCAL_RANK", local, 0);
  const std::string local_world = value_of(getenv, "LOCAL_WORLD_SIZE");
  l.local_world_size = local_world.empty() ? 1 : integer("LOCAL_WORLD_SIZE", local_world, 1);
  if (!l.distributed()) return l;
  l.master_addr = value_of(getenv, "MASTER_ADDR");
  if (l.master_addr.empty())
    throw Error(fmt::format("WORLD_SIZE={} is set but MASTER_ADDR is not: {}, or set MASTER_ADDR and MASTER_PORT "
                            "to the host and port of rank 0",
                            world, kTorchrunHint));
  const std::string port = value_of(getenv, "MASTER_PORT");
  if (port.empty())
    throw Error(fmt::format("WORLD_SIZE={} is set but MASTER_PORT is not: {}, or set MASTER_PORT", world, kTorchrunHint));
  l.master_port = integer("MASTER_PORT", port, 1);
  if (l.master_port > 65535) throw Error(fmt::format("MASTER_PORT={} is not a TCP port (1-65535)", port));
  l.agent_store = value_of(getenv, "TORCHELASTIC_USE_AGENT_STORE") == "True";
  return l;
}

std::string slurm_tasks(const Getenv& getenv) {
  const std::string step = value_of(getenv, "SLURM_STEP_NUM_TASKS");
  return step.empty() ? value_of(getenv, "SLURM_NTASKS") : step;
}

LaunchInfo from_slurm(const Getenv& getenv, std::int64_t default_port) {
  LaunchInfo l;
  l.launcher = "slurm";
  const std::string tasks = slurm_tasks(getenv), procid = value_of(getenv, "SLURM_PROCID");
  if (tasks.empty() || procid.empty())
    throw Error("dist.launcher=slurm but SLURM_PROCID or SLURM_NTASKS is not set: start one task per GPU with "
                "'srun unmask train ...' (see scripts/slurm/train.sbatch)");
  l.world_size = integer("SLURM_NTASKS", tasks, 1);
  l.rank = integer("SLURM_PROCID", procid, 0);
  if (l.rank >= l.world_size)
    throw Error(fmt::format("SLURM_PROCID={} is outside [0, SLURM_NTASKS={})", l.rank, l.world_size));
  const std::string local = value_of(getenv, "SLURM_LOCALID");
  l.local_rank = local.empty() ? 0 : integer("SLURM_LOCALID", local, 0);
  std::string per_node = value_of(getenv, "SLURM_STEP_TASKS_PER_NODE");
  if (per_node.empty()) per_node = value_of(getenv, "SLURM_TASKS_PER_NODE");
  l.local_world_size = per_node.empty() ? 1 : leading_count(per_node);
  if (!l.distributed()) return l;
  l.master_addr = value_of(getenv, "MASTER_ADDR");
  if (l.master_addr.empty()) {
    std::string nodes = value_of(getenv, "SLURM_STEP_NODELIST");
    if (nodes.empty()) nodes = value_of(getenv, "SLURM_JOB_NODELIST");
    if (nodes.empty())
      throw Error("SLURM_NTASKS=" + tasks + " but neither MASTER_ADDR nor SLURM_JOB_NODELIST is set: export "
                  "MASTER_ADDR=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1)");
    l.master_addr = first_slurm_host(nodes);
  }
  const std::string port = value_of(getenv, "MASTER_PORT");
  l.master_port = port.empty() ? default_port : integer("MASTER_PORT", port, 1);
  if (l.master_port < 1 || l.master_port > 65535)
    throw Error(fmt::format("rendezvous port {} is not a TCP port (set dist.port or MASTER_PORT to 1-65535)",
                            l.master_port));
  return l;
}

}  // namespace

std::string first_slurm_host(const std::string& nodelist) {
  // The first entry at bracket depth 0: "a[1-3],b" → "a[1-3]".
  std::size_t end = 0;
  for (int depth = 0; end < nodelist.size(); ++end) {
    if (nodelist[end] == '[') ++depth;
    if (nodelist[end] == ']') --depth;
    if (nodelist[end] == ',' && depth == 0) break;
  }
  const std::string entry = nodelist.substr(0, end);
  const std::size_t open = entry.find('[');
  if (open == std::string::npos) {
    if (entry.empty()) throw Error("SLURM_JOB_NODELIST is empty");
    return entry;
  }
  const std::size_t close = entry.find(']', open);
  if (close == std::string::npos) throw Error("SLURM_JOB_NODELIST='" + nodelist + "' has an unclosed '['");
  // The first range or number inside the brackets, with its zero padding.
  const std::string inside = entry.substr(open + 1, close - open - 1);
  const std::size_t stop = inside.find_first_of("-,");
  return entry.substr(0, open) + inside.substr(0, stop) + entry.substr(close + 1);
}

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

LaunchInfo read_launch(const Getenv& getenv, const std::string& launcher, std::int64_t default_port) {
  if (launcher == "none") return {};
  if (launcher == "torchrun") return from_torchrun(getenv);
  if (launcher == "slurm") return from_slurm(getenv, default_port);
  if (launcher != "auto")
    throw Error("dist.launcher = '" + launcher + "' is not valid (valid: auto, torchrun, slurm, none)");
  if (!value_of(getenv, "WORLD_SIZE").empty()) return from_torchrun(getenv);
  // Only srun's step variable: a batch script that runs unmask without srun
  // also has SLURM_NTASKS, but is one process.
  const std::string step = value_of(getenv, "SLURM_STEP_NUM_TASKS");
  if (!value_of(getenv, "SLURM_PROCID").empty() && !step.empty() && step != "1") return from_slurm(getenv, default_port);
  return {};
}

std::string gpu_sharing_problem(std::int64_t local_ranks, std::int64_t gpus) {
  if (local_ranks <= gpus) return "";
  return std::to_string(local_ranks) + " ranks share " + std::to_string(gpus) + (gpus == 1 ? " GPU" : " GPUs") +
         " on this node: NCCL needs one GPU per rank; use dist.backend=gloo or start one rank per GPU "
         "(torchrun --nproc-per-node=" + std::to_string(std::max<std::int64_t>(1, gpus)) + ")";
}

}  // namespace unmask
