// trainer.json of a checkpoint: the trainer's position besides its tensors
// (step, data loader position, counters, tokenizer fingerprint, world size).
// Read and validated here, torch-free, so that a damaged or hand-edited file
// is a clear error naming it (and the reader can be fuzzed: fuzz/trainer_state.cpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace unmask {


struct TrainerState {
  std::int64_t step = 0;                // optimizer steps taken (>= 0)
  nlohmann::json loader;                // DataLoader::state(): mode, length, fingerprint + RowSampler keys
  std::int64_t nonfinite_in_a_row = 0;  // skipped non-finite steps before this one
  std::string fingerprint;              // tokenizer SHA-256, 64 hex digits
  std::int64_t vocab_size = 0;
  std::string objective;
  bool ema = false;
  double elapsed = 0;                   // training seconds before this checkpoint
  std::int64_t world_size = 1;          // processes that wrote it
  std::vector<double> clip;             // bd3lm: the clip range [lo, hi] training draws from (empty: none)
};

nlohmann::ordered_json trainer_state_json(const TrainerState& s);

// Parses the text of `file` (a trainer.json); Error naming the file and the
// field that is missing, of the wrong type or out of range.
TrainerState parse_trainer_state(const std::string& text, const std::string& file);
TrainerState read_trainer_state(const std::filesystem::path& checkpoint_dir);

}  // namespace unmask
