// Checkpoints of a run directory (the file names are in run/layout.h).
//
// A checkpoint is written under a temporary name and renamed when complete;
// `latest` is rewritten (atomically) only after that, so a run killed while
// writing keeps its previous checkpoint usable.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "unmask/config.h"
#include "unmask/run/layout.h"
#include "unmask/util/fs.h"

namespace unmask {


std::string checkpoint_name(std::int64_t step);  // "step-0000042"
std::filesystem::path checkpoints_dir(const std::filesystem::path& run_dir);

// Steps of the complete checkpoints in a run directory, ascending.
std::vector<std::int64_t> checkpoint_steps(const std::filesystem::path& run_dir);

// A checkpoint directory from what a user typed: a run directory (its
// `latest`), a checkpoints/ directory, or a checkpoint directory itself.
std::filesystem::path find_checkpoint(const std::filesystem::path& spec);

// Writes DIR/manifest.json: the size and SHA-256 of every file under DIR.
void write_checkpoint_manifest(const std::filesystem::path& dir);
// Checks a checkpoint against its manifest: Error naming the first file that
// is missing, truncated, grown or changed. A checkpoint without a manifest
// (written before manifests existed) is not checked.
void verify_checkpoint(const std::filesystem::path& dir);

// Builds RUN/checkpoints/step-N under a temporary name; commit() writes its
// manifest, publishes it, moves `latest` and prunes old checkpoints (keep the
// last K, plus every M-th).
class CheckpointWriter {
 public:
  CheckpointWriter(const std::filesystem::path& run_dir, std::int64_t step);
  std::filesystem::path file(const std::string& name) const { return staging_.path() / name; }
  const std::filesystem::path& dir() const { return staging_.path(); }
  void commit(const CheckpointConfig& retention);

 private:
  std::filesystem::path run_dir_;
  std::int64_t step_;
  StagingDir staging_;
};

}  // namespace unmask
