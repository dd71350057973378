// Shared by the `eval` entry points: the data directory of a request, samples
// (from a file or from memory) prepared for scoring, and the diversity
// statistics as JSON.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "unmask/config.h"
#include "unmask/eval/text_stats.h"
#include "unmask/tokenizer/tokenizer.h"

namespace unmask::eval_detail {

// `requested`, or data.path of the config; an error when both are empty.
std::string data_dir(const std::string& requested, const RunConfig& config);

// A sample to score: its ids under the scorer's tokenizer (no BOS; up to and
// including the first EOS when the sampler's ids are used) and the tokens its
// diversity statistics count (EOS and PAD left out).
struct ScoredSample {
  std::string text;  // as written (the JSONL `text` field, or the line)
  std::vector<std::int64_t> ids, content;
};

// A sample as made: its text and, from `unmask sample`, its ids and the
// fingerprint of the tokenizer that made them.
struct SampleRecord {
  std::string text;
  std::optional<std::vector<std::int64_t>> ids;
  std::optional<std::string> tokenizer;
};

// The samples prepared for scoring: their ids are used when they were made
// with the scorer's tokenizer, else an error unless `retokenize` (then the
// text is encoded). `origin` names where they came from in errors.
std::vector<ScoredSample> scored_samples(const std::vector<SampleRecord>& records, const Tokenizer& scorer_tokenizer,
                                         bool retokenize, const std::string& origin);

// `unmask sample --out` JSONL, as `is_sample_jsonl` tells, or plain text, one
// sample per line, prepared by `scored_samples`; an error when it has none.
std::vector<ScoredSample> read_samples(const std::filesystem::path& path, const Tokenizer& scorer_tokenizer,
                                       bool retokenize);

nlohmann::ordered_json stats_json(const TextStats& stats);

}  // namespace unmask::eval_detail
