// Data-parallel training on Gloo, two processes on this machine started with
// the variables torchrun sets: the same trajectory as one process with the
// same global batch, exact resume, a killed rank ends the job, and bad
// launches are one clear line.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.h"

namespace unmask {
namespace {

using namespace unmask::test;

// A port nothing listens on right now (the kernel's pick on loopback).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("cannot pick a free port");
  ::close(fd);
  return ntohs(a.sin_port);
}

fs::path write_config(const fs::path& dir, const std::string& diffusion, const std::string& backbone, double dropout,
                      const std::string& extra_train = "") {
  const std::string text = R"({
    "seed": 5,
    "model": {"backbone": ")" + backbone + R"(", "hidden": 32, "layers": 2, "heads": 2, "cond_dim": 16,
              "dropout": )" + std::to_string(dropout) + R"(, "max_length": 32},
    "diffusion": )" + diffusion + R"(,
    "data": {"path": ")" + fortune_data().string() + R"(", "mode": "pad", "length": 24},
    "train": {"batch_size": 8, "grad_accum": 2, "max_steps": 20, "lr": 0.003, "warmup_steps": 2, "ema": 0.99,
              "log_every": 1, "eval_every": 10, "val_batches": 2, "checkpoint_every": 10, "sample_every": 0,
              "device": "cpu", "threads": 1)" + extra_train + R"(},
    "dist": {"timeout_s": 60}
  })";
  const fs::path path = dir / "config.json";
  write_text(path, text);
  return path;
}

const char* kMdlm = R"({"objective": "mdlm"})";
const char* kD3pm = R"({"objective": "d3pm", "schedule": "d3pm", "T": 100})";

std::vector<std::string> rank_env(int rank, int world, int port) {
  return {"RANK=" + std::to_string(rank), "LOCAL_RANK=" + std::to_string(rank), "WORLD_SIZE=" + std::to_string(world),
          "LOCAL_WORLD_SIZE=" + std::to_string(world), "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + std::to_string(port)};
}

struct Job {
  std::vector<int> codes;
  std::vector<std::string> errs;
};

// `world` processes of `unmask train` with torchrun's variables, logs in dir/rank-R/.
std::vector<Child> start_ranks(int world, const fs::path& config, const fs::path& out, const fs::path& dir,
                               const std::vector<std::string>& extra = {}) {
  const int port = free_port();
  std::vector<Child> children;
  for (int r = 0; r < world; ++r) {
    const fs::path logs = dir / ("rank-" + std::to_string(r));
    fs::create_directories(logs);
    std::vector<std::string> args = {"train", "--config", config.string(), "--out", out.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    children.push_back(spawn_unmask(args, logs, rank_env(r, world, port)));
  }
  return children;
}

// The same, waited for.
Job run_ranks(int world, const fs::path& config, const fs::path& out, const fs::path& dir,
              const std::vector<std::string>& extra = {}) {
  std::vector<Child> children = start_ranks(world, config, out, dir, extra);
  Job job;
  for (int r = 0; r < world; ++r) {
    job.codes.push_back(children[r].wait());
    job.errs.push_back(read_text(dir / ("rank-" + std::to_string(r)) / "child.err"));
  }
  return job;
}

std::map<std::int64_t, double> losses(const fs::path& run, const std::string& split) {
  return logged_losses(run, split);
}

void expect_close(const std::map<std::int64_t, double>& a, const std::map<std::int64_t, double>& b, double rel,
                  const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (const auto& [step, loss] : a) {
    ASSERT_TRUE(b.count(step)) << what << " step " << step;
    EXPECT_NEAR(loss, b.at(step), rel * std::abs(loss)) << what << " step " << step;
  }
}

class DataParallelTrain : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(DataParallelTrain, TwoRanksFollowOneProcess) {
  const auto& [diffusion, backbone] = GetParam();
  TempDir dir;
  const auto config = write_config(dir.path(), diffusion, backbone, 0.0);
  const auto one = run_unmask({"train", "--config", config.string(), "--out", (dir / "one").string()});
  ASSERT_EQ(one.code, 0) << one.err;
  const Job two = run_ranks(2, config, dir / "two", dir.path());
  ASSERT_EQ(two.codes, (std::vector<int>{0, 0})) << two.errs[0] << "\n---\n" << two.errs[1];
  // Rank 0 states the world and checks that every rank holds the same bits.
  EXPECT_NE(two.errs[0].find("data parallel: 2 ranks over gloo (torchrun"), std::string::npos) << two.errs[0];
  EXPECT_NE(two.errs[0].find("rank 0 cpu, rank 1 cpu"), std::string::npos) << two.errs[0];
  EXPECT_NE(two.errs[0].find("step 20: parameters bit-identical on all 2 ranks"), std::string::npos) << two.errs[0];
  // Rank 1 logs nothing at info level.
  EXPECT_EQ(two.errs[1].find("[info]"), std::string::npos) << two.errs[1];
  expect_close(losses(dir / "one", "train"), losses(dir / "two", "train"), 1e-4, "train");
  expect_close(losses(dir / "one", "val"), losses(dir / "two", "val"), 1e-4, "val");
  EXPECT_EQ(losses(dir / "two", "train").size(), 20u);
  // The weights at step 20 agree with one process's within 1e-4, except the
  // token embedding within 5e-4: a rare token's row gets a gradient summed
  // from a few terms, in another order over 16 rows than over 2 × 8 rows and
  // an allreduce, and Adam's division by √v turns that rounding into a
  // visible part of one update (lr 3e-3). Measured on an AMD EPYC machine:
  // 2.49e-4 in 4 of 2000 rows, every other tensor within 2e-5 (the same code
  // before the run/app refactor gives the same figure there; earlier CI
  // machines stayed within 1e-4 everywhere).
  const auto cmp = run_command(std::string(UNMASK_PYTHON) + " " + UNMASK_SOURCE_DIR +
                               "/tests/compare_outputs.py --atol 1e-4 --atol-for vocab_embed.embedding=5e-4 " +
                               (dir / "one/checkpoints/step-0000020/model.safetensors").string() + " " +
                               (dir / "two/checkpoints/step-0000020/model.safetensors").string());
  EXPECT_EQ(cmp.code, 0) << cmp.out << cmp.err;
}

INSTANTIATE_TEST_SUITE_P(Objectives, DataParallelTrain,
                         ::testing::Values(std::make_pair(std::string(kMdlm), std::string("dit")),
                                           std::make_pair(std::string(kD3pm), std::string("bert"))),
                         [](const auto& info) { return info.index == 0 ? "mdlm" : "d3pm"; });

TEST(DataParallel, TwoRankCheckpointResumesExactly) {
  TempDir dir;
  const auto config = write_config(dir.path(), kMdlm, "dit", 0.1);  // per-rank dropout streams
  const Job straight = run_ranks(2, config, dir / "straight", dir / "a");
  ASSERT_EQ(straight.codes, (std::vector<int>{0, 0})) << straight.errs[0] << straight.errs[1];
  const Job first = run_ranks(2, config, dir / "resumed", dir / "b", {"--set", "train.max_steps=10"});
  ASSERT_EQ(first.codes, (std::vector<int>{0, 0})) << first.errs[0] << first.errs[1];
  const Job second = run_ranks(2, config, dir / "resumed", dir / "c", {"--resume"});
  ASSERT_EQ(second.codes, (std::vector<int>{0, 0})) << second.errs[0] << second.errs[1];
  EXPECT_EQ(losses(dir / "straight", "train"), losses(dir / "resumed", "train"));
  EXPECT_EQ(losses(dir / "straight", "val"), losses(dir / "resumed", "val"));
  // Another world size cannot replay per-rank dropout streams: refused, clearly.
  const auto one = run_unmask({"train", "--config", config.string(), "--out", (dir / "resumed").string(), "--resume",
                               "--set", "train.max_steps=30"});
  EXPECT_EQ(one.code, 1);
  EXPECT_NE(one.err.find("cannot resume with 1 process(es): the checkpoint was written by 2"), std::string::npos)
      << one.err;
}

TEST(DataParallel, WithoutDropoutAnotherWorldSizeResumesOnTheSameTrajectory) {
  TempDir dir;
  const auto config = write_config(dir.path(), kMdlm, "dit", 0.0);
  const auto straight = run_unmask({"train", "--config", config.string(), "--out", (dir / "straight").string()});
  ASSERT_EQ(straight.code, 0) << straight.err;
  const Job first = run_ranks(2, config, dir / "mixed", dir / "a", {"--set", "train.max_steps=10"});
  ASSERT_EQ(first.codes, (std::vector<int>{0, 0})) << first.errs[0] << first.errs[1];
  const auto second = run_unmask({"train", "--config", config.string(), "--out", (dir / "mixed").string(), "--resume"});
  ASSERT_EQ(second.code, 0) << second.err;
  expect_close(losses(dir / "straight", "train"), losses(dir / "mixed", "train"), 1e-4, "train");
}

TEST(DataParallel, AKilledRankEndsTheJob) {
  TempDir dir;
  const auto config = write_config(dir.path(), kMdlm, "dit", 0.0, R"(, "max_steps": 100000, "checkpoint_every": 100000)");
  std::vector<Child> ranks = start_ranks(2, config, dir / "run", dir.path());
  ASSERT_TRUE(wait_until([&] { return fs::exists(dir / "run/metrics.jsonl") && losses(dir / "run", "train").size() >= 3; },
                         120));
  ranks[1].signal(SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  const int code = ranks[0].wait();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  EXPECT_EQ(ranks[1].wait(), 128 + SIGKILL);
  EXPECT_NE(code, 0);
  EXPECT_LT(seconds, 60.0);
  const std::string err = read_text(dir / "rank-0" / "child.err");
  EXPECT_NE(err.find("unmask: error: rank 0 of 2:"), std::string::npos) << err;
  EXPECT_NE(err.find("another rank exited"), std::string::npos) << err;
}

TEST(DataParallel, SigtermCheckpointsOnceAndEveryRankExitsZero) {
  TempDir dir;
  const auto config = write_config(dir.path(), kMdlm, "dit", 0.0, R"(, "max_steps": 100000, "checkpoint_every": 100000)");
  std::vector<Child> ranks = start_ranks(2, config, dir / "run", dir.path());
  ASSERT_TRUE(wait_until([&] { return fs::exists(dir / "run/metrics.jsonl") && losses(dir / "run", "train").size() >= 3; },
                         120));
  // Slurm's preemption signals every task; here only rank 1 gets it, which is harder.
  ranks[1].signal(SIGTERM);
  EXPECT_EQ(ranks[0].wait(), 0) << read_text(dir / "rank-0" / "child.err");
  EXPECT_EQ(ranks[1].wait(), 0) << read_text(dir / "rank-1" / "child.err");
  const auto steps = losses(dir / "run", "train");
  ASSERT_FALSE(steps.empty());
  const std::string latest = read_text(dir / "run/checkpoints/latest");
  char expected[32];
  std::snprintf(expected, sizeof expected, "step-%07lld\n", static_cast<long long>(steps.rbegin()->first));
  EXPECT_EQ(latest, expected);
  // One checkpoint, complete: the one the signal asked for.
  int checkpoints = 0;
  for (const auto& e : fs::directory_iterator(dir / "run/checkpoints"))
    checkpoints += e.path().filename().string().rfind("step-", 0) == 0;
  EXPECT_EQ(checkpoints, 1);
  EXPECT_TRUE(fs::exists(dir / "run/checkpoints" / latest.substr(0, 12) / "trainer.json"));
}

TEST(DataParallel, SrunVariablesStartTheSameJob) {
  // What srun sets for a 2-task step on one node; no MASTER_ADDR: unmask takes
  // the first host of the node list.
  TempDir dir;
  const auto config = write_config(dir.path(), kMdlm, "dit", 0.0, R"(, "max_steps": 4)");
  const std::string port = std::to_string(free_port());
  std::vector<Child> ranks;
  for (int r = 0; r < 2; ++r) {
    const fs::path logs = dir / ("rank-" + std::to_string(r));
    fs::create_directories(logs);
    ranks.push_back(spawn_unmask({"train", "--config", config.string(), "--out", (dir / "run").string(), "--set",
                                  "dist.port=" + port},
                                 logs,
                                 {"SLURM_PROCID=" + std::to_string(r), "SLURM_LOCALID=" + std::to_string(r),
                                  "SLURM_NTASKS=2", "SLURM_STEP_NUM_TASKS=2", "SLURM_STEP_TASKS_PER_NODE=2",
                                  "SLURM_JOB_NODELIST=localhost"}));
  }
  EXPECT_EQ(ranks[0].wait(), 0) << read_text(dir / "rank-0/child.err");
  EXPECT_EQ(ranks[1].wait(), 0) << read_text(dir / "rank-1/child.err");
  const std::string log = read_text(dir / "rank-0/child.err");
  EXPECT_NE(log.find("data parallel: 2 ranks over gloo (slurm, rendezvous localhost:" + port + ")"), std::string::npos)
      << log;
  EXPECT_EQ(losses(dir / "run", "train").size(), 4u);
}

TEST(DataParallel, BadLaunchesAreOneClearLine) {
  TempDir dir;
  const auto config = write_config(dir.path(), kMdlm, "dit", 0.0);
  const std::vector<std::string> args = {"train", "--config", config.string(), "--out", (dir / "run").string()};
  auto run_with = [&](const std::vector<std::string>& env, const std::vector<std::string>& extra = {}) {
    fs::create_directories(dir / "logs");
    std::vector<std::string> all = args;
    all.insert(all.end(), extra.begin(), extra.end());
    Child c = spawn_unmask(all, dir / "logs", env);
    const int code = c.wait();
    return std::make_pair(code, read_text(dir / "logs" / "child.err"));
  };
  auto [c1, e1] = run_with({"RANK=0", "WORLD_SIZE=2", "MASTER_PORT=29500"});
  EXPECT_EQ(c1, 1);
  EXPECT_NE(e1.find("unmask: error: WORLD_SIZE=2 is set but MASTER_ADDR is not"), std::string::npos) << e1;
  auto [c2, e2] = run_with({"RANK=0", "WORLD_SIZE=3", "MASTER_ADDR=127.0.0.1", "MASTER_PORT=29500"});
  EXPECT_EQ(c2, 1);
  EXPECT_NE(e2.find("train.batch_size (8) must be divisible by the world size (3) times train.grad_accum (2)"),
            std::string::npos)
      << e2;
  // Rank 1 of a job whose rank 0 never comes: an unreachable store, within dist.timeout_s.
  const auto start = std::chrono::steady_clock::now();
  auto [c3, e3] = run_with({"RANK=1", "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + std::to_string(free_port())},
                           {"--set", "dist.timeout_s=3"});
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 30.0);
  EXPECT_EQ(c3, 1);
  EXPECT_NE(e3.find("rank 1 cannot reach the rendezvous store at 127.0.0.1:"), std::string::npos) << e3;
  for (const auto& e : {e1, e2, e3}) EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 1) << e;
  EXPECT_FALSE(fs::exists(dir / "run" / "checkpoints"));
}

}  // namespace
}  // namespace unmask
