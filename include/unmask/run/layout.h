// The names inside a run directory, in one place. Everything that reads or
// writes a run (the trainer, sample/eval, import/export, init.from) names
// its files through these constants.
//
//   RUN/config.json                      resolved config of the run
//   RUN/metrics.jsonl                    one JSON object per logged step and split
//   RUN/samples.jsonl                    the trainer's preview samples
//   RUN/lock                             held by the trainer that writes the run
//   RUN/checkpoints/latest               name of the newest complete checkpoint
//   RUN/checkpoints/step-NNNNNNN/        one checkpoint:
//       model.safetensors  ema.safetensors  optimizer.pt  rng.safetensors
//       trainer.json  config.json  tokenizer/  token_counts.safetensors (spindle)
//       manifest.json                    bytes and SHA-256 of every other file
#pragma once

namespace unmask::run_files {

inline constexpr const char* kConfig = "config.json";
inline constexpr const char* kMetrics = "metrics.jsonl";
inline constexpr const char* kSamples = "samples.jsonl";
inline constexpr const char* kCheckpoints = "checkpoints";
inline constexpr const char* kLatest = "latest";
inline constexpr const char* kModel = "model.safetensors";
inline constexpr const char* kEma = "ema.safetensors";
inline constexpr const char* kOptimizer = "optimizer.pt";
inline constexpr const char* kRng = "rng.safetensors";
inline constexpr const char* kTrainerState = "trainer.json";
inline constexpr const char* kTokenizer = "tokenizer";
inline constexpr const char* kTokenCounts = "token_counts.safetensors";
inline constexpr const char* kManifest = "manifest.json";

}  // namespace unmask::run_files
