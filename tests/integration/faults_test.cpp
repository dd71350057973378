// Faults around a run directory, end to end: a second trainer on a run that
// is being trained refuses (the lock); a checkpoint damaged on disk is
// refused by `train --resume`, `sample` and `eval` with a message naming the
// file, while the run's other checkpoints stay usable; a full disk (a
// file-size limit, RLIMIT_FSIZE) during a checkpoint, a `data prepare` or an
// `eval all` is a clear error that leaves the previous state as it was.
#include <gtest/gtest.h>
#include <signal.h>

#include <unistd.h>

#include <algorithm>
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

// Runs unmask with writes limited to `kb` KiB per file: SIGXFSZ ignored, so a
// write past the limit fails with EFBIG as it would on a full disk.
RunResult run_with_full_disk(int kb, const std::vector<std::string>& args) {
  auto quote = [](const std::string& a) {
    std::string q = "'";
    for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  };
  std::string cmd = "ulimit -f " + std::to_string(kb) + "; trap '' XFSZ; exec " + quote(UNMASK_BINARY) + " --log-level warn";
  for (const auto& a : args) cmd += " " + quote(a);
  return run_command(cmd);
}

bool has_temporaries(const fs::path& dir) {
  for (const auto& name : list_tree(dir))
    if (name.find(".tmp-") != std::string::npos) return true;
  return false;
}

TEST(Faults, DiskFullDuringACheckpointKeepsThePreviousOne) {
  TempDir dir;
  const fs::path config = write_config(dir.path(), 4), run = dir / "run";
  ASSERT_EQ(run_unmask({"train", "--config", config.string(), "--out", run.string()}).code, 0);
  // The next checkpoint (weights 0.6 MB, optimizer state 1.2 MB) does not fit under 600 KiB a file.
  const auto r = run_with_full_disk(600, {"train", "--config", config.string(), "--out", run.string(), "--resume",
                                          "--set", "train.max_steps=8"});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("File too large (disk full or over a file-size limit?); nothing was written"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(read_text(run / "checkpoints" / "latest"), "step-0000004\n");
  EXPECT_FALSE(fs::exists(run / "checkpoints" / "step-0000008"));
  EXPECT_FALSE(has_temporaries(run)) << run;
  EXPECT_EQ(run_unmask({"sample", "--checkpoint", run.string()}).code, 0);
  const auto resumed = run_unmask({"train", "--config", config.string(), "--out", run.string(), "--resume", "--set",
                                   "train.max_steps=8"});
  EXPECT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_EQ(read_text(run / "checkpoints" / "latest"), "step-0000008\n");
}

TEST(Faults, DiskFullDuringDataPrepareLeavesNothing) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "the quick brown fox " + std::to_string(i) + " jumps over the lazy dog\n";
  write_text(dir / "corpus.txt", text);
  const auto r = run_with_full_disk(64, {"data", "prepare", "--input", (dir / "corpus.txt").string(), "--tokenizer",
                                         fortune_tokenizer().string(), "--out", (dir / "data").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("disk full"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "data"));
  EXPECT_FALSE(has_temporaries(dir.path()));
}

TEST(Faults, DiskFullDuringEvalAllIsAClearError) {
  TempDir dir;
  const fs::path config = write_config(dir.path(), 4), run = dir / "run";
  ASSERT_EQ(run_unmask({"train", "--config", config.string(), "--out", run.string()}).code, 0);
  const auto r = run_with_full_disk(1, {"eval", "all", "--checkpoint", run.string(), "--out", (dir / "eval").string(),
                                        "--max-rows", "8"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("File too large"), std::string::npos) << r.err;
  // Nothing is published unless everything was written.
  EXPECT_FALSE(fs::exists(dir / "eval" / "eval-samples.jsonl"));
  EXPECT_FALSE(fs::exists(dir / "eval" / "eval.json"));
  EXPECT_FALSE(has_temporaries(dir.path()));
}

// Output directories that cannot be made: one line naming the operation and
// the path (not an "internal error"). /proc refuses new entries even to root.
TEST(Faults, UnwritableOutputDirectoriesAreClearErrors) {
  TempDir dir;
  const fs::path config = write_config(dir.path(), 4);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"train", "--config", config.string(), "--out", "/proc/unmask-run"},
        std::vector<std::string>{"data", "prepare", "--input", fortune_files().front().string(), "--tokenizer",
                                 fortune_tokenizer().string(), "--out", "/proc/unmask-data"}}) {
    const auto r = run_unmask(args);
    EXPECT_EQ(r.code, 1) << args[0];
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("/proc/unmask-"), std::string::npos) << r.err;
  }
}

// Runs unmask with `dir` read-only. A non-root user gets chmod 0555; root
// ignores permission bits, so it gets a read-only bind mount of `dir` in a
// private mount namespace (unshare -m), which refuses writes even to root.
std::string quote(const std::string& a) {
  std::string q = "'";
  for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

RunResult run_with_read_only(const fs::path& dir, const std::vector<std::string>& args) {
  std::string cmd = quote(UNMASK_BINARY) + " --log-level warn";
  for (const auto& a : args) cmd += " " + quote(a);
  if (::geteuid() != 0) {
    fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec);
    auto r = run_command(cmd);
    fs::permissions(dir, fs::perms::owner_all);
    return r;
  }
  const std::string d = quote(dir.string());
  return run_command("unshare -m sh -c " +
                     quote("mount --bind " + d + " " + d + " && mount -o remount,bind,ro " + d + " " + d + " && exec " + cmd));
}

bool read_only_possible() { return ::geteuid() != 0 || run_command("unshare -m true").code == 0; }

TEST(Faults, ReadOnlyOutputDirectoriesAreClearErrors) {
  if (!read_only_possible())
    GTEST_SKIP() << "runs as a non-root user, or as root where mount namespaces (unshare -m) are allowed; here they "
                    "were refused";
  TempDir dir;
  const fs::path config = write_config(dir.path(), 4), run = dir / "run", ro = dir / "ro";
  ASSERT_EQ(run_unmask({"train", "--config", config.string(), "--out", run.string()}).code, 0);
  fs::create_directories(ro);
  struct Case {
    fs::path read_only;
    std::vector<std::string> args;
  };
  const std::vector<Case> cases = {
      {ro, {"train", "--config", config.string(), "--out", (ro / "run").string()}},
      {ro, {"data", "prepare", "--input", fortune_files().front().string(), "--tokenizer", fortune_tokenizer().string(),
            "--out", (ro / "data").string()}},
      {ro, {"sample", "--checkpoint", run.string(), "--num", "1", "--out", (ro / "s.jsonl").string()}},
      {ro, {"eval", "all", "--checkpoint", run.string(), "--max-rows", "8", "--out", (ro / "eval").string()}},
      {run, {"train", "--config", config.string(), "--out", run.string(), "--resume", "--set", "train.max_steps=8"}},
  };
  for (const auto& c : cases) {
    const auto r = run_with_read_only(c.read_only, c.args);
    const std::string what = c.args[0] + " " + c.args[1];
    EXPECT_EQ(r.code, 1) << what << ": " << r.err;
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << what << ": " << r.err;
    EXPECT_NE(r.err.find(c.read_only.string()), std::string::npos) << what << ": " << r.err;
    EXPECT_TRUE(r.err.find("Read-only file system") != std::string::npos ||
                r.err.find("Permission denied") != std::string::npos)
        << what << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << what << ": " << r.err;
  }
  // Nothing was left behind, and the run still resumes once writable again.
  EXPECT_TRUE(list_tree(ro).empty());
  EXPECT_EQ(read_text(run / "checkpoints" / "latest"), "step-0000004\n");
  EXPECT_EQ(run_unmask({"train", "--config", config.string(), "--out", run.string(), "--resume", "--set",
                        "train.max_steps=8"})
                .code,
            0);
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
  const fs::path previous = run / "checkpoints" / "step-0000004";
  r = run_unmask({"sample", "--checkpoint", previous.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  // Without a manifest (an older checkpoint), a damaged trainer.json is still a clear error.
  fs::remove(previous / "manifest.json");
  write_text(previous / "trainer.json", "{\"step\": ");
  r = run_unmask({"train", "--config", config.string(), "--out", run.string(), "--resume", previous.string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find((previous / "trainer.json").string() + " is damaged: not valid JSON"), std::string::npos)
      << r.err;
  // A field of the wrong type is named.
  write_text(previous / "trainer.json", "{\"step\": -3}");
  r = run_unmask({"train", "--config", config.string(), "--out", run.string(), "--resume", previous.string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("trainer.json is damaged: 'step' must be an integer >= 0"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace unmask
