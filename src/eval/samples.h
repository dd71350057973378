// Shared by the `eval` entry points (internal): the data directory of a
// request, sample files read for scoring, and the diversity statistics as JSON.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
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

// `unmask sample --out` JSONL, as `is_sample_jsonl` tells (ids used when made
// with the scorer's tokenizer, else an error unless `retokenize`), or plain
// text, one sample per line.
std::vector<ScoredSample> read_samples(const std::filesystem::path& path, const Tokenizer& scorer_tokenizer,
                                       bool retokenize);

nlohmann::ordered_json stats_json(const TextStats& stats);

}  // namespace unmask::eval_detail
