// Checkpoint naming, discovery, atomic publication and retention.
#include "unmask/run/checkpoint.h"

#include <algorithm>
#include <cstdio>

#include "unmask/run/layout.h"
#include "unmask/util/error.h"

namespace unmask {

namespace fs = std::filesystem;

std::string checkpoint_name(std::int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%07lld", static_cast<long long>(step));
  return buf;
}

fs::path checkpoints_dir(const fs::path& run_dir) { return run_dir / run_files::kCheckpoints; }

std::vector<std::int64_t> checkpoint_steps(const fs::path& run_dir) {
  std::vector<std::int64_t> steps;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(checkpoints_dir(run_dir), ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory() || name.rfind("step-", 0) != 0) continue;
    try {
      std::size_t used = 0;
      const std::int64_t step = std::stoll(name.substr(5), &used);
      if (used == name.size() - 5 && fs::exists(e.path() / "trainer.json")) steps.push_back(step);
    } catch (const std::exception&) {
    }
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

fs::path find_checkpoint(const fs::path& spec) {
  std::error_code ec;
  if (fs::exists(spec / "trainer.json", ec)) return spec;
  for (const fs::path& dir : {checkpoints_dir(spec), spec}) {
    const fs::path pointer = dir / run_files::kLatest;
    if (fs::exists(pointer, ec)) {
      std::string name = read_file(pointer);
      while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
      const fs::path ckpt = dir / name;
      if (!fs::exists(ckpt / "trainer.json", ec))
        throw Error(pointer.string() + " names " + name + ", which is not a complete checkpoint");
      return ckpt;
    }
  }
  throw Error("no checkpoint at " + spec.string() + " (expected a run directory with checkpoints/latest, or a "
              "checkpoints/step-NNNNNNN directory)");
}

CheckpointWriter::CheckpointWriter(const fs::path& run_dir, std::int64_t step)
    : run_dir_(run_dir), step_(step), staging_(checkpoints_dir(run_dir) / checkpoint_name(step), true) {}

void CheckpointWriter::commit(const CheckpointConfig& retention) {
  write_checkpoint_manifest(staging_.path());
  staging_.commit();
  write_file_atomic(checkpoints_dir(run_dir_) / run_files::kLatest, checkpoint_name(step_) + "\n");
  const auto steps = checkpoint_steps(run_dir_);
  const std::size_t keep_from = steps.size() > static_cast<std::size_t>(retention.keep_last)
                                    ? steps.size() - static_cast<std::size_t>(retention.keep_last)
                                    : 0;
  for (std::size_t i = 0; i < keep_from; ++i) {
    const std::int64_t s = steps[i];
    if (s == step_ || (retention.keep_every > 0 && s % retention.keep_every == 0)) continue;
    std::error_code ec;
    fs::remove_all(checkpoints_dir(run_dir_) / checkpoint_name(s), ec);
  }
}

}  // namespace unmask
