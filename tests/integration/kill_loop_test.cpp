// Fifty deaths of a trainer: SIGKILL, SIGTERM and SIGINT in turn, each at a
// random moment (start-up, a step, a half-written checkpoint), each followed by a
// resume. After every death the run's `latest` checkpoint passes its
// manifest check, and the final run logs exactly the losses of a run that
// was never interrupted (CPU: bit-exact).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <iostream>
#include <random>
#include <thread>

#include "test_util.h"
#include "unmask/run/checkpoint.h"

namespace unmask {
namespace {

using namespace unmask::test;

// Dropout, EMA and gradient accumulation on, so every random state and the
// optimizer must come back exactly; a checkpoint every step.
fs::path write_config(const fs::path& dir) {
  const fs::path path = dir / "config.json";
  write_text(path, R"({"seed": 5, "model": {"backbone": "dit", "hidden": 32, "layers": 1, "heads": 2, "cond_dim": 16,
    "dropout": 0.1, "max_length": 32}, "diffusion": {"objective": "mdlm"},
    "data": {"path": ")" + fortune_data().string() + R"(", "mode": "wrap", "length": 24},
    "train": {"batch_size": 8, "grad_accum": 2, "max_steps": 100000, "lr": 0.003, "warmup_steps": 3, "ema": 0.99,
              "log_every": 1, "eval_every": 1000000, "val_batches": 0, "checkpoint_every": 1, "sample_every": 0,
              "device": "cpu", "threads": 1},
    "checkpoint": {"keep_last": 2}})");
  return path;
}

TEST(KillLoop, FiftyDeathsAtRandomMomentsResumeBitExactly) {
  TempDir dir;
  const fs::path config = write_config(dir.path()), run = dir / "run";
  std::mt19937 rng(20261130);
  std::uniform_int_distribution<int> wait_ms(150, 1500);
  const int signals[] = {SIGKILL, SIGTERM, SIGINT};
  int exits[3] = {0, 0, 0};
  for (int life = 0; life < 50; ++life) {
    std::vector<std::string> args = {"--log-level", "warn", "train", "--config", config.string(), "--out", run.string()};
    if (!checkpoint_steps(run).empty()) args.push_back("--resume");
    // Each checkpoint (every step) pauses 40 ms half written: the run stays
    // short enough to replay, and many deaths land inside a checkpoint write.
    Child child = spawn_unmask(args, dir.path(), {"UNMASK_TEST_CHECKPOINT_PAUSE_MS=40"});
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms(rng)));
    const int sig = signals[life % 3];
    child.signal(sig);
    const int code = child.wait();
    // SIGKILL kills; SIGTERM/SIGINT finish the step, checkpoint and exit 0
    // (or kill the process outright while LibTorch is still starting).
    if (sig == SIGKILL) EXPECT_EQ(code, 128 + SIGKILL) << read_text(dir / "child.err");
    else EXPECT_TRUE(code == 0 || code == 128 + sig) << life << ": " << code << " " << read_text(dir / "child.err");
    exits[life % 3] += code == 0 ? 1 : 0;
    if (!checkpoint_steps(run).empty()) {
      const fs::path latest = find_checkpoint(run);
      EXPECT_NO_THROW(verify_checkpoint(latest)) << "after life " << life << ": " << latest;
    }
  }
  const auto steps = checkpoint_steps(run);
  ASSERT_FALSE(steps.empty()) << "no life lasted long enough to checkpoint";
  EXPECT_GE(exits[1] + exits[2], 5) << "SIGTERM/SIGINT should mostly end cleanly";
  std::cout << "kill loop: " << steps.back() << " steps checkpointed over 50 lives; clean exits after SIGTERM "
            << exits[1] << "/17, after SIGINT " << exits[2] << "/16\n";
  // Finish a few steps past the last checkpoint, then compare with a run that
  // was never interrupted.
  const std::string until = "train.max_steps=" + std::to_string(steps.back() + 3);
  auto r = run_unmask({"train", "--config", config.string(), "--out", run.string(), "--resume", "--set", until});
  ASSERT_EQ(r.code, 0) << r.err;
  r = run_unmask({"train", "--config", config.string(), "--out", (dir / "straight").string(), "--set", until});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto killed = logged_losses(run, "train"), straight = logged_losses(dir / "straight", "train");
  EXPECT_EQ(killed.size(), static_cast<std::size_t>(steps.back() + 3));
  EXPECT_EQ(killed, straight);
  EXPECT_EQ(read_text(run / "checkpoints" / checkpoint_name(steps.back() + 3) / "model.safetensors"),
            read_text(dir / "straight" / "checkpoints" / checkpoint_name(steps.back() + 3) / "model.safetensors"));
}

}  // namespace
}  // namespace unmask
