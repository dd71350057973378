// Faults around a run directory, end to end: a second trainer on a run that
// is being trained refuses (the lock), and a checkpoint damaged on disk is
// refused by `train --resume`, `sample` and `eval` with a message naming the
// file, while the run's other checkpoints stay usable.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>

#include "test_util.h"

namespace unmask {
namespace {

using namespace unmask::test;

fs::path write_config(const fs::path& dir, std::int64_t max_steps) {
  const fs::path path = dir / "config.json";
  write_text(path, R"({"seed": 3, "model": {"backbone": "dit", "hidden": 32, "layers": 1, "heads": 2, "cond_dim": 16,
    "dropout": 0.0, "max_length": 32}, "diffusion": {"objective": "mdlm"},
    "data": {"path": ")" + fortune_data().string() + R"(", "mode": "wrap", "length": 24},
    "train": {"batch_size": 8, "max_steps": )" + std::to_string(max_steps) + R"(, "lr": 0.003, "warmup_steps": 0,
              "log_every": 1, "eval_every": 1000, "val_batches": 0, "checkpoint_every": 4, "sample_every": 0,
              "device": "cpu", "threads": 1},
    "sample": {"num": 1, "length": 16, "steps": 4}})");
  return path;
}

TEST(Faults, ASecondTrainerOnTheSameRunRefuses) {
  TempDir dir;
  const fs::path config = write_config(dir.path(), 100000), run = dir / "run";
  Child first = spawn_unmask({"train", "--config", config.string(), "--out", run.string()}, dir.path());
  ASSERT_TRUE(wait_until([&] { return fs::exists(run / "checkpoints" / "latest"); }, 120)) << read_text(dir / "child.err");
  const auto second = run_unmask({"train", "--config", config.string(), "--out", run.string(), "--resume"});
  EXPECT_EQ(second.code, 1);
  EXPECT_NE(second.err.find(run.string() + " is in use by another unmask train (pid " + std::to_string(first.pid)),
            std::string::npos)
      << second.err;
  first.signal(SIGKILL);
  EXPECT_EQ(first.wait(), 128 + SIGKILL);
  // The killed trainer's lock went with it: a resume now proceeds.
  const auto resumed = run_unmask({"train", "--config", config.string(), "--out", run.string(), "--resume", "--set",
                                   "train.max_steps=8"});
  EXPECT_EQ(resumed.code, 0) << resumed.err;
}

TEST(Faults, ADamagedCheckpointIsRefusedNamingTheFile) {
  TempDir dir;
  const fs::path config = write_config(dir.path(), 8), run = dir / "run";
  ASSERT_EQ(run_unmask({"train", "--config", config.string(), "--out", run.string()}).code, 0);
  const fs::path ckpt = run / "checkpoints" / "step-0000008", weights = ckpt / "model.safetensors";
  fs::copy_file(weights, dir / "model.copy");
  {
    std::fstream f(weights, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(weights) / 2));
    f.put('\x7f');
  }
  const std::string flipped = weights.string() + " changed after it was written (SHA-256 mismatch)";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"train", "--config", config.string(), "--out", run.string(), "--resume"},
        std::vector<std::string>{"sample", "--checkpoint", run.string()},
        std::vector<std::string>{"eval", "ppl", "--checkpoint", run.string()}}) {
    const auto r = run_unmask(args);
    EXPECT_EQ(r.code, 1) << args[0];
    EXPECT_NE(r.err.find(flipped), std::string::npos) << args[0] << ": " << r.err;
  }
  fs::copy_file(dir / "model.copy", weights, fs::copy_options::overwrite_existing);
  fs::resize_file(ckpt / "optimizer.pt", 10);
  auto r = run_unmask({"train", "--config", config.string(), "--out", run.string(), "--resume"});
  EXPECT_NE(r.err.find("has 10 bytes"), std::string::npos) << r.err;
  fs::remove(ckpt / "config.json");
  r = run_unmask({"train", "--config", config.string(), "--out", run.string(), "--resume"});
  EXPECT_NE(r.err.find("is missing config.json"), std::string::npos) << r.err;
  // The previous checkpoint is intact and samples.
  r = run_unmask({"sample", "--checkpoint", (run / "checkpoints" / "step-0000004").string()});
  EXPECT_EQ(r.code, 0) << r.err;
}

}  // namespace
}  // namespace unmask
