// `unmask data prepare`: streams a corpus, tokenizes it on all cores and
// writes train/val(/test) shards plus meta.json and a copy of the tokenizer
// into a directory that appears atomically. Memory stays bounded by one block
// of text per stage, whatever the corpus size.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "unmask/util/corpus_reader.h"

namespace unmask {

inline constexpr const char* kDataMeta = "meta.json";

struct PrepareOptions {
  std::vector<std::filesystem::path> inputs;       // split by val_fraction / test_fraction
  std::vector<std::filesystem::path> val_inputs;   // wholly validation (a corpus's own split, e.g. OWT's last 100k)
  std::vector<std::filesystem::path> test_inputs;  // wholly test (e.g. LM1B's test split)
  CorpusOptions corpus;
  std::filesystem::path tokenizer;        // tokenizer directory
  std::filesystem::path out;
  double val_fraction = 0.005;
  double test_fraction = 0.0;
  std::uint64_t seed = 0;                 // split assignment hash seed
  int threads = 0;                        // 0 = all cores
  std::uint64_t shard_tokens = 1ULL << 28;
  std::string dtype = "auto";             // auto | uint16 | uint32
  std::size_t block_bytes = 4u << 20;     // text per parallel block
  bool overwrite = false;
};

struct SplitSummary {
  std::uint64_t docs = 0;
  std::uint64_t tokens = 0;
  std::vector<std::string> shards;
};

struct PrepareSummary {
  CorpusStats corpus;
  std::map<std::string, SplitSummary> splits;
  std::uint32_t token_bytes = 0;
  int threads = 0;
  double seconds = 0;
};

PrepareSummary prepare_data(const PrepareOptions& options);

}  // namespace unmask
