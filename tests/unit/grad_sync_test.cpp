// The gradient all-reduce (c10d::Reducer through GradSync) on two forked
// processes over Gloo: after accumulate_gradients with sync, every rank holds
// the mean of the ranks' local gradients; with 4 micro-batches it issues
// exactly the collectives of 1 (the micro-steps before the last do not
// communicate, as DDP's no_sync()); and rank 0's weights reach every rank.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <iostream>

#include "torch_test_util.h"
#include "unmask/distributed/data_parallel.h"
#include "unmask/distributed/grad_sync.h"
#include "unmask/distributed/process_group.h"
#include "unmask/train/trainer.h"

namespace unmask {
namespace {

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// What one rank checks; returns a failure description or "".
std::string rank_checks(int rank, int port) {
  at::set_num_threads(1);
  LaunchInfo launch;
  launch.rank = rank;
  launch.world_size = 2;
  launch.master_addr = "127.0.0.1";
  launch.master_port = port;
  launch.launcher = "test";
  DistConfig config;
  config.timeout_s = 60;
  config.bucket_mb = 0.01;  // several buckets on a tiny model
  DataParallel dp(launch, config, torch::Device(torch::kCPU));

  torch::manual_seed(100 + rank);  // different initial weights per rank...
  ObjectiveContext ctx;
  ctx.vocab_size = 50;
  const auto obj = make_objective(ctx);
  auto model = make_backbone(test::tiny_backbone("dit"));
  dp.attach(*model, config.bucket_mb);  // ...until rank 0's are broadcast
  dp.check_parameters_agree(*model, 0);
  if (dp.sync()->buckets() < 2) return "expected several buckets, got " + std::to_string(dp.sync()->buckets());

  // Each rank its own rows, uneven padding.
  torch::manual_seed(7 + rank);
  Batch batch{torch::randint(5, 50, {8, 12}), torch::ones({8, 12}, torch::kBool)};
  batch.pad_mask[rank].narrow(0, 3, 9).fill_(false);
  auto gen = at::detail::createCPUGenerator(3 + rank);
  const Noised noised = obj->corrupt(batch, gen);

  // Local gradient sums, no communication.
  model->zero_grad();
  accumulate_gradients(*model, *obj, batch, noised, 1, false);
  std::vector<at::Tensor> local;
  for (auto& p : model->parameters()) local.push_back(p.grad().clone());
  // What synced gradients must equal: the mean over ranks of the local sums
  // (`local` holds loss/denominator gradients; rescale to sums first).
  const LossOutput out = obj->loss(model->forward(noised.x_t, noised.cond, batch.pad_mask), batch, noised);
  const double denominator = out.denominator.item<double>();
  std::vector<at::Tensor> expected;
  for (auto& g : local) {
    const auto all = dp.gather(g * denominator);
    expected.push_back((all[0] + all[1]) / 2);
  }

  // Two synced steps first: after the first, the reducer rebuilds its buckets
  // in the order gradients arrived (a broadcast of the new layout).
  for (int warm = 0; warm < 2; ++warm) accumulate_gradients(*model, *obj, batch, noised, 1, false, dp.sync());
  std::vector<std::uint64_t> counts;
  for (const std::int64_t chunks : {1, 4}) {
    model->zero_grad();
    const std::uint64_t start = dp.collectives();
    accumulate_gradients(*model, *obj, batch, noised, chunks, false, dp.sync());
    counts.push_back(dp.collectives() - start);
    const auto params = model->parameters();
    for (std::size_t i = 0; i < params.size(); ++i)
      if (!torch::allclose(params[i].grad(), expected[i], 1e-4, 1e-6))
        return "chunks " + std::to_string(chunks) + ": parameter " + std::to_string(i) +
               " gradient is not the mean of the ranks' sums (max diff " +
               std::to_string((params[i].grad() - expected[i]).abs().max().item<double>()) + ")";
  }
  if (counts[0] < 2) return "expected several bucket all-reduces in a synced step, saw " + std::to_string(counts[0]);
  if (counts[0] != counts[1])
    return "4 micro-batches issued " + std::to_string(counts[1]) + " collectives, 1 micro-batch " +
           std::to_string(counts[0]) + ": the micro-steps before the last communicated";
  return "";
}

TEST(GradSync, ReducerAveragesAndCommunicatesOnlyOnTheLastMicroStep) {
  const int port = free_port();
  std::vector<pid_t> children;
  for (int rank = 0; rank < 2; ++rank) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int code = 0;
      try {
        const std::string failure = rank_checks(rank, port);
        if (!failure.empty()) {
          std::cerr << "rank " << rank << ": " << failure << std::endl;
          code = 1;
        }
      } catch (const std::exception& e) {
        std::cerr << "rank " << rank << ": " << e.what() << std::endl;
        code = 2;
      }
      ::_exit(code);
    }
    children.push_back(pid);
  }
  for (int rank = 0; rank < 2; ++rank) {
    int status = 0;
    ::waitpid(children[rank], &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "rank " << rank << " failed (see stderr)";
  }
}

}  // namespace
}  // namespace unmask
