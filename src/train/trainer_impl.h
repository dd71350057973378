// The trainer's state, shared by the files that implement it: the loop and
// set-up (trainer.cpp), checkpoints and resume (trainer_checkpoint.cpp), and
// validation, samples and metrics (trainer_monitor.cpp). Internal to src/train.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "unmask/data/loader.h"
#include "unmask/distributed/data_parallel.h"
#include "unmask/tokenizer/tokenizer.h"
#include "unmask/train/ema.h"
#include "unmask/train/trainer.h"
#include "unmask/util/run_lock.h"

namespace unmask {

namespace fs = std::filesystem;

struct Trainer::Impl {
  TrainOptions options;
  const RunConfig& config() const { return options.config; }
  fs::path run_dir;
  torch::Device device{torch::kCPU};
  bool bf16 = false;
  std::unique_ptr<Tokenizer> tokenizer;
  std::shared_ptr<const ShardedSplit> train_split, val_split;
  std::vector<std::int64_t> token_counts;
  Backbone model;
  std::unique_ptr<Objective> objective;
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::unique_ptr<Ema> ema;
  std::unique_ptr<DataLoader> loader;
  std::unique_ptr<DataParallel> dp;  // world size 1: inert
  at::Generator generator;  // corruption draws (CPU: the same on every device)
  std::int64_t step = 0, nonfinite_in_a_row = 0;
  double elapsed_before = 0;  // seconds trained before a resume
  std::ofstream metrics;
  std::unique_ptr<RunLock> lock;  // rank 0: held while this trainer writes the run directory

  void setup();
  void build_optimizer();
  void load_checkpoint(const fs::path& ckpt);        // verifies the manifest, then the files below
  void load_checkpoint_files(const fs::path& ckpt);
  std::vector<std::pair<std::string, at::Tensor>> random_states();
  void restore_random_states(const std::map<std::string, at::Tensor>& rng, std::int64_t saved_world);
  void save_checkpoint(double elapsed);
  void check_compatible(const fs::path& ckpt) const;
  double validate();
  // bd3lm with diffusion.clip_search: BD3-LM's choice of the clip range on
  // the validation batches (diffusion/clip_search.h), applied and logged.
  void choose_clip();
  DataLoader validation_loader() const;
  void print_samples();
  void write_metrics(const Json& line);
  void truncate_metrics(std::int64_t keep_through);
};

inline Batch to_device(const Batch& b, const torch::Device& d) { return {b.tokens.to(d), b.pad_mask.to(d), b.has_padding}; }

// The mask the backbone gets: none when nothing is padded.
inline at::Tensor attention_mask(const Batch& b) { return b.has_padding ? b.pad_mask : at::Tensor(); }

}  // namespace unmask
