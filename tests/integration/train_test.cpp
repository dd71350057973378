// `unmask train` end to end on the fortunes: the loss falls for every
// objective; a run stopped (SIGINT, or SIGKILL in the middle of writing a
// checkpoint) and resumed logs exactly the losses of an uninterrupted run;
// incompatible configs and non-finite training are refused clearly.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.h"

namespace unmask {
namespace {

using namespace unmask::test;

// A tiny model on packed fortunes: dropout on (so the dropout RNG must be
// restored too), EMA on, gradient accumulation on, one thread.
fs::path write_config(const fs::path& dir, const std::string& diffusion, const std::string& extra_train = "",
                      const std::string& backbone = "dit") {
  const std::string text = R"({
    "seed": 3,
    "model": {"backbone": ")" + backbone + R"(", "hidden": 32, "layers": 1, "heads": 2, "cond_dim": 16,
              "dropout": 0.1, "max_length": 32},
    "diffusion": )" + diffusion + R"(,
    "data": {"path": ")" + fortune_data().string() + R"(", "mode": "wrap", "length": 24},
    "train": {"batch_size": 8, "grad_accum": 2, "max_steps": 12, "lr": 0.003, "warmup_steps": 2, "ema": 0.99,
              "log_every": 1, "eval_every": 4, "val_batches": 2, "checkpoint_every": 4, "device": "cpu",
              "threads": 1)" + extra_train + R"(}
  })";
  const fs::path path = dir / "config.json";
  write_text(path, text);
  return path;
}

const char* kMdlm = R"({"objective": "mdlm"})";

std::map<std::int64_t, double> train_losses(const fs::path& run) { return logged_losses(run, "train"); }
std::map<std::int64_t, double> val_losses(const fs::path& run) { return logged_losses(run, "val"); }

RunResult train(const fs::path& config, const fs::path& out, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"train", "--config", config.string(), "--out", out.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_unmask(args);
}

TEST(Train, LossFallsForEveryObjective) {
  const std::vector<std::tuple<std::string, std::string, std::string>> runs = {
      {"mdlm", R"({"objective": "mdlm"})", "dit"},
      {"d3pm", R"({"objective": "d3pm", "schedule": "d3pm", "T": 100})", "bert"},
      {"diffusionbert", R"({"objective": "diffusionbert", "schedule": "spindle", "T": 100})", "bert"},
      {"mlm", R"({"objective": "mlm"})", "bert"},
      {"roberta_diffusion", R"({"objective": "roberta_diffusion", "prompt_length": 4})", "bert"},
      {"ar", R"({"objective": "ar"})", "dit"},
      {"bd3lm", R"({"objective": "bd3lm", "block_size": 4})", "dit"},
      {"bd3lm-bert", R"({"objective": "bd3lm", "block_size": 8, "clip_min": 0.3, "clip_max": 0.8})", "bert"}};
  for (const auto& [name, diffusion, backbone] : runs) {
    TempDir dir;
    const auto config = write_config(
        dir.path(), diffusion, R"(, "max_steps": 80, "lr": 0.005, "grad_accum": 1, "eval_every": 20, "val_batches": 4)",
        backbone);
    const auto r = train(config, dir / "run");
    ASSERT_EQ(r.code, 0) << name << ": " << r.err;
    EXPECT_EQ(train_losses(dir / "run").size(), 80u) << name;
    // Validation uses fixed batches and a fixed corruption seed: it must fall.
    const auto val = val_losses(dir / "run");
    ASSERT_EQ(val.size(), 4u) << name;
    EXPECT_LT(val.at(80), 0.99 * val.at(20)) << name << ": " << val.at(20) << " -> " << val.at(80);
    EXPECT_TRUE(fs::exists(dir / "run" / "checkpoints" / "step-0000080" / "model.safetensors")) << name;
    if (name == "diffusionbert")
      EXPECT_TRUE(fs::exists(dir / "run" / "checkpoints" / "latest")) << name;
  }
}

TEST(Train, RunWritesMetricsCheckpointsAndKeepsTheLastOnes) {
  TempDir dir;
  const auto config = write_config(dir.path(), kMdlm);
  const auto r = train(config, dir / "run");
  ASSERT_EQ(r.code, 0) << r.err;
  const fs::path ckpts = dir / "run" / "checkpoints";
  // keep_last 3 (default): steps 4, 8, 12.
  EXPECT_EQ(list_tree(ckpts).front(), "latest");
  for (const char* s : {"step-0000004", "step-0000008", "step-0000012"}) EXPECT_TRUE(fs::exists(ckpts / s)) << s;
  EXPECT_EQ(read_text(ckpts / "latest"), "step-0000012\n");
  for (const char* f : {"model.safetensors", "ema.safetensors", "optimizer.pt", "rng.safetensors", "trainer.json",
                        "config.json", "tokenizer/tokenizer.model"})
    EXPECT_TRUE(fs::exists(ckpts / "step-0000012" / f)) << f;
  std::istringstream in(read_text(dir / "run" / "metrics.jsonl"));
  std::string line;
  std::getline(in, line);
  const auto j = nlohmann::json::parse(line);
  for (const char* key : {"step", "split", "loss", "nelbo_per_token", "lr", "grad_norm", "tokens_per_s", "elapsed"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(val_losses(dir / "run").size(), 3u);
  // A second fresh run into the same directory is refused.
  const auto again = train(config, dir / "run");
  EXPECT_NE(again.code, 0);
  EXPECT_NE(again.err.find("already has checkpoints: pass --resume"), std::string::npos) << again.err;
}

TEST(Train, RetentionKeepsTheLastKPlusEveryMth) {
  TempDir dir;
  const auto config = write_config(dir.path(), kMdlm, R"(, "checkpoint_every": 2, "sample_every": 0)");
  const auto r = train(config, dir / "run", {"--set", "checkpoint.keep_last=2", "--set", "checkpoint.keep_every=6"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::size_t entries = 0;
  for (const auto& e : fs::directory_iterator(dir / "run" / "checkpoints")) entries += e.path().filename() != "" ? 1 : 0;
  EXPECT_EQ(entries, 4u);  // latest + three checkpoints, nothing half written
  for (const char* kept : {"step-0000006", "step-0000010", "step-0000012"})
    EXPECT_TRUE(fs::exists(dir / "run" / "checkpoints" / kept)) << kept;
  for (const char* gone : {"step-0000002", "step-0000004", "step-0000008"})
    EXPECT_FALSE(fs::exists(dir / "run" / "checkpoints" / gone)) << gone;
}

TEST(Train, ResumedRunReproducesTheUninterruptedLossesExactly) {
  TempDir dir;
  const auto config = write_config(dir.path(), kMdlm);
  ASSERT_EQ(train(config, dir / "full").code, 0);
  // Stop at step 6 (the checkpoint at 4 and a final one at 6), then continue to 12.
  ASSERT_EQ(train(config, dir / "part", {"--set", "train.max_steps=6"}).code, 0);
  const auto r = train(config, dir / "part", {"--resume"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("config changed since the checkpoint: train.max_steps: 6 -> 12"), std::string::npos) << r.err;
  EXPECT_EQ(train_losses(dir / "part"), train_losses(dir / "full"));
  auto part_val = val_losses(dir / "part");
  part_val.erase(6);  // the shortened first leg validated at its last step
  EXPECT_EQ(part_val, val_losses(dir / "full"));
  EXPECT_EQ(read_text(dir / "part" / "checkpoints" / "step-0000012" / "model.safetensors"),
            read_text(dir / "full" / "checkpoints" / "step-0000012" / "model.safetensors"));
}

// bd3lm with BD3-LM's clip search: every validation pass (steps 4, 8, 12)
// logs its choice, the checkpoint records it, and a resumed run draws from
// the recorded range: losses equal the uninterrupted run's.
TEST(Train, Bd3lmClipSearchIsLoggedCheckpointedAndResumed) {
  TempDir dir;
  const auto config = write_config(dir.path(), R"({"objective": "bd3lm", "block_size": 4, "clip_search": true})");
  const auto full = train(config, dir / "full");
  ASSERT_EQ(full.code, 0) << full.err;
  EXPECT_NE(full.err.find("step 4: clip search chose t ~ U["), std::string::npos) << full.err;
  const auto state = nlohmann::json::parse(read_text(dir / "full" / "checkpoints" / "step-0000012" / "trainer.json"));
  ASSERT_TRUE(state.contains("clip")) << state.dump();
  EXPECT_LT(state["clip"][0].get<double>(), state["clip"][1].get<double>());
  ASSERT_EQ(train(config, dir / "part", {"--set", "train.max_steps=6"}).code, 0);
  const auto r = train(config, dir / "part", {"--resume"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(train_losses(dir / "part"), train_losses(dir / "full"));
}

TEST(Train, SigkillWhileWritingACheckpointLeavesThePreviousOneUsable) {
  TempDir dir;
  const auto config = write_config(dir.path(), kMdlm);
  ASSERT_EQ(train(config, dir / "full").code, 0);
  const fs::path run = dir / "killed";
  Child child = spawn_unmask({"train", "--config", config.string(), "--out", run.string()}, dir.path(),
                             {"UNMASK_TEST_CHECKPOINT_PAUSE_MS=1500"});
  // Wait until the checkpoint of step 8 is half written, then kill -9.
  const bool writing = wait_until(
      [&] {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(run / "checkpoints", ec))
          if (e.path().filename().string().rfind(".step-0000008.tmp", 0) == 0) return true;
        return false;
      },
      120);
  child.signal(SIGKILL);
  EXPECT_EQ(child.wait(), 128 + SIGKILL);
  ASSERT_TRUE(writing) << read_text(dir / "child.err");
  EXPECT_EQ(read_text(run / "checkpoints" / "latest"), "step-0000004\n");
  EXPECT_FALSE(fs::exists(run / "checkpoints" / "step-0000008"));
  const auto r = train(config, run, {"--resume"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("resumed from"), std::string::npos);
  EXPECT_EQ(train_losses(run), train_losses(dir / "full"));
}

TEST(Train, SigintFinishesTheStepCheckpointsAndExitsCleanly) {
  TempDir dir;
  const auto config = write_config(dir.path(), kMdlm, R"(, "max_steps": 400)");
  const fs::path run = dir / "interrupted";
  Child child = spawn_unmask({"train", "--config", config.string(), "--out", run.string()}, dir.path());
  ASSERT_TRUE(wait_until([&] { return fs::exists(run / "metrics.jsonl") && train_losses(run).size() >= 5; }, 120));
  child.signal(SIGINT);
  EXPECT_EQ(child.wait(), 0) << read_text(dir / "child.err");
  const auto stopped = train_losses(run);
  const std::int64_t at = stopped.rbegin()->first;
  ASSERT_LT(at, 400);
  const auto latest = read_text(run / "checkpoints" / "latest");
  char want[32];
  std::snprintf(want, sizeof want, "step-%07lld\n", static_cast<long long>(at));
  EXPECT_EQ(latest, want);
  // Continue to `at + 6` and compare with an uninterrupted run to the same step.
  const std::string until = "train.max_steps=" + std::to_string(at + 6);
  ASSERT_EQ(train(config, run, {"--resume", "--set", until}).code, 0);
  ASSERT_EQ(train(config, dir / "straight", {"--set", until}).code, 0);
  EXPECT_EQ(train_losses(run), train_losses(dir / "straight"));
}

TEST(Train, IncompatibleConfigIsRefusedOnResume) {
  TempDir dir;
  const auto config = write_config(dir.path(), kMdlm, R"(, "max_steps": 4)");
  ASSERT_EQ(train(config, dir / "run").code, 0);
  const auto r = train(config, dir / "run", {"--resume", "--set", "model.hidden=64", "--set", "model.heads=4"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot resume"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("model.hidden: 32 -> 64"), std::string::npos) << r.err;
  const auto mode = train(config, dir / "run", {"--resume", "--set", "data.length=16"});
  EXPECT_NE(mode.err.find("data.length: 24 -> 16"), std::string::npos) << mode.err;
  const auto none = train(config, dir / "nothing", {"--resume"});
  EXPECT_NE(none.err.find("no checkpoint at"), std::string::npos) << none.err;
}

TEST(Train, NonFiniteStepsAreSkippedThenStopTheRun) {
  TempDir dir;
  // An absurd learning rate drives the weights to inf within a few steps.
  const auto config = write_config(dir.path(), kMdlm, R"(, "lr": 1e30, "warmup_steps": 0, "max_steps": 40)");
  const auto skip = train(config, dir / "skip", {"--set", "train.max_nonfinite=3"});
  EXPECT_EQ(skip.code, 1);
  EXPECT_NE(skip.err.find("step skipped (1 in a row)"), std::string::npos) << skip.err;
  EXPECT_NE(skip.err.find("training stopped after 3 non-finite step(s) in a row"), std::string::npos) << skip.err;
  for (const auto& [step, loss] : train_losses(dir / "skip")) EXPECT_TRUE(std::isfinite(loss)) << step;
  const auto stop = train(config, dir / "stop", {"--set", "train.nonfinite=stop"});
  EXPECT_EQ(stop.code, 1);
  EXPECT_NE(stop.err.find("training stopped after 1 non-finite step(s)"), std::string::npos) << stop.err;
}

TEST(Train, Bf16AutocastRunsOnTheCpuToo) {
  TempDir dir;
  const auto config = write_config(dir.path(), kMdlm, R"(, "precision": "bf16", "max_steps": 8)");
  const auto r = train(config, dir / "run");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("(bf16 autocast)"), std::string::npos) << r.err;
  const auto losses = train_losses(dir / "run");
  ASSERT_EQ(losses.size(), 8u);
  for (const auto& [step, loss] : losses) EXPECT_TRUE(std::isfinite(loss) && loss > 0) << step;
}

TEST(Train, BadRequestsAreClearErrors) {
  TempDir dir;
  const auto config = write_config(dir.path(), kMdlm);
  auto r = train(config, dir / "run", {"--set", "data.path=" + (dir / "none").string()});
  EXPECT_NE(r.err.find("tokenizer directory not found"), std::string::npos) << r.err;
  r = train(config, dir / "run", {"--set", "train.grad_accum=3"});
  EXPECT_NE(r.err.find("train.batch_size (8) must be a positive multiple of train.grad_accum (3)"), std::string::npos)
      << r.err;
  r = train(config, dir / "run", {"--device", "tpu"});
  EXPECT_NE(r.err.find("train.device = 'tpu' is not valid (valid: auto, cpu, cuda)"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "run" / "checkpoints"));
}

}  // namespace
}  // namespace unmask
