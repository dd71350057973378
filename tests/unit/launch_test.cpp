// Reading torchrun's and Slurm's launch variables: the values, the launcher
// chosen under dist.launcher=auto, Slurm hostlists, and one clear error for
// each incomplete or wrong launch.
#include <gtest/gtest.h>

#include <map>

#include "test_util.h"
#include "unmask/distributed/launch.h"

namespace unmask {
namespace {

using Env = std::map<std::string, std::string>;

LaunchInfo launch(const Env& env, const std::string& launcher = "auto", std::int64_t port = 29500) {
  return read_launch(
      [&](const char* name) -> const char* {
        const auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
      },
      launcher, port);
}

std::string error(const Env& env, const std::string& launcher = "auto") {
  return test::error_of([&] { launch(env, launcher); });
}

TEST(Launch, NoVariablesIsOneProcess) {
  const LaunchInfo l = launch({});
  EXPECT_FALSE(l.distributed());
  EXPECT_EQ(l.world_size, 1);
  EXPECT_EQ(l.launcher, "none");
}

TEST(Launch, TorchrunVariables) {
  const LaunchInfo l = launch({{"RANK", "3"}, {"LOCAL_RANK", "1"}, {"WORLD_SIZE", "8"}, {"LOCAL_WORLD_SIZE", "2"},
                               {"MASTER_ADDR", "node7"}, {"MASTER_PORT", "29400"},
                               {"TORCHELASTIC_USE_AGENT_STORE", "True"}});
  EXPECT_EQ(l.launcher, "torchrun");
  EXPECT_EQ(l.rank, 3);
  EXPECT_EQ(l.local_rank, 1);
  EXPECT_EQ(l.world_size, 8);
  EXPECT_EQ(l.local_world_size, 2);
  EXPECT_EQ(l.master_addr, "node7");
  EXPECT_EQ(l.master_port, 29400);
  EXPECT_TRUE(l.agent_store);
  EXPECT_FALSE(launch({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"}, {"MASTER_PORT", "1"}}).agent_store);
}

TEST(Launch, TorchrunWithOneProcessNeedsNoStore) {
  const LaunchInfo l = launch({{"RANK", "0"}, {"WORLD_SIZE", "1"}});
  EXPECT_FALSE(l.distributed());
  EXPECT_EQ(l.launcher, "torchrun");
}

TEST(Launch, SlurmVariablesUnderSrun) {
  const LaunchInfo l = launch({{"SLURM_PROCID", "5"}, {"SLURM_LOCALID", "1"}, {"SLURM_NTASKS", "8"},
                               {"SLURM_STEP_NUM_TASKS", "8"}, {"SLURM_STEP_TASKS_PER_NODE", "4(x2)"},
                               {"SLURM_JOB_NODELIST", "gpu[007-008]"}},
                              "auto", 29511);
  EXPECT_EQ(l.launcher, "slurm");
  EXPECT_EQ(l.rank, 5);
  EXPECT_EQ(l.local_rank, 1);
  EXPECT_EQ(l.world_size, 8);
  EXPECT_EQ(l.local_world_size, 4);
  EXPECT_EQ(l.master_addr, "gpu007");
  EXPECT_EQ(l.master_port, 29511);  // dist.port when MASTER_PORT is unset
  // MASTER_ADDR/MASTER_PORT, when exported by the batch script, win.
  const LaunchInfo m = launch({{"SLURM_PROCID", "0"}, {"SLURM_STEP_NUM_TASKS", "2"}, {"SLURM_JOB_NODELIST", "a[1-2]"},
                               {"MASTER_ADDR", "10.0.0.1"}, {"MASTER_PORT", "1234"}});
  EXPECT_EQ(m.master_addr, "10.0.0.1");
  EXPECT_EQ(m.master_port, 1234);
}

TEST(Launch, BatchScriptWithoutSrunIsOneProcess) {
  // sbatch sets SLURM_NTASKS for the job, but the batch step is one process.
  EXPECT_FALSE(launch({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "8"}, {"SLURM_JOB_NODELIST", "n1"}}).distributed());
  // dist.launcher=slurm trusts SLURM_NTASKS.
  EXPECT_EQ(launch({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "8"}, {"SLURM_JOB_NODELIST", "n1"}}, "slurm").world_size, 8);
}

TEST(Launch, LauncherNoneIgnoresTheEnvironment) {
  EXPECT_FALSE(launch({{"RANK", "1"}, {"WORLD_SIZE", "2"}}, "none").distributed());
}

TEST(Launch, FirstSlurmHost) {
  EXPECT_EQ(first_slurm_host("node17"), "node17");
  EXPECT_EQ(first_slurm_host("gpu[003-008,010],cpu1"), "gpu003");
  EXPECT_EQ(first_slurm_host("a[7,9]"), "a7");
  EXPECT_EQ(first_slurm_host("rack1-[02-04]-ib"), "rack1-02-ib");
  EXPECT_EQ(first_slurm_host("x1,y[1-2]"), "x1");
  EXPECT_NE(test::error_of([] { first_slurm_host("gpu[1-2"); }).find("unclosed"), std::string::npos);
}

TEST(Launch, LoopbackHosts) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_FALSE(is_loopback_host("node1"));
}

TEST(Launch, ErrorsNameTheVariable) {
  EXPECT_NE(error({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "29500"}})
                .find("WORLD_SIZE=2 is set but MASTER_ADDR is not: launch with 'torchrun"),
            std::string::npos);
  EXPECT_NE(error({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}).find("MASTER_PORT is not"),
            std::string::npos);
  EXPECT_NE(error({{"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}}).find("RANK is not"),
            std::string::npos);
  EXPECT_NE(error({{"RANK", "2"}, {"WORLD_SIZE", "2"}}).find("RANK=2 is outside [0, WORLD_SIZE=2)"), std::string::npos);
  EXPECT_NE(error({{"RANK", "x"}, {"WORLD_SIZE", "2"}}).find("RANK='x' is not valid"), std::string::npos);
  EXPECT_NE(error({{"RANK", "0"}, {"WORLD_SIZE", "0"}}).find("WORLD_SIZE='0' is not valid"), std::string::npos);
  EXPECT_NE(error({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}})
                .find("not a TCP port"),
            std::string::npos);
  EXPECT_NE(error({}, "torchrun").find("dist.launcher=torchrun but WORLD_SIZE is not set"), std::string::npos);
  EXPECT_NE(error({}, "slurm").find("srun"), std::string::npos);
  EXPECT_NE(error({{"SLURM_PROCID", "0"}, {"SLURM_STEP_NUM_TASKS", "2"}}).find("MASTER_ADDR=$(scontrol"),
            std::string::npos);
  EXPECT_NE(error({}, "mpi").find("valid: auto, torchrun, slurm, none"), std::string::npos);
}

TEST(Launch, RanksSharingAGpuAreToldWhatToDo) {
  EXPECT_EQ(gpu_sharing_problem(1, 1), "");
  EXPECT_EQ(gpu_sharing_problem(8, 8), "");
  EXPECT_EQ(gpu_sharing_problem(2, 8), "");
  EXPECT_EQ(gpu_sharing_problem(4, 1),
            "4 ranks share 1 GPU on this node: NCCL needs one GPU per rank; use dist.backend=gloo or start one rank "
            "per GPU (torchrun --nproc-per-node=1)");
  EXPECT_NE(gpu_sharing_problem(3, 2).find("3 ranks share 2 GPUs"), std::string::npos);
  EXPECT_NE(gpu_sharing_problem(2, 0).find("--nproc-per-node=1"), std::string::npos);
}

}  // namespace
}  // namespace unmask
