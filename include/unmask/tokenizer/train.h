// `unmask tokenizer train`: trains a SentencePiece model (unigram or BPE) on
// corpus files read through CorpusReader, with [PAD] [UNK] [BOS] [EOS] [MASK]
// at ids 0..4 ([MASK] a control symbol), and writes a tokenizer directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "unmask/util/corpus_reader.h"

namespace unmask {

struct TokenizerTrainOptions {
  std::vector<std::filesystem::path> inputs;
  CorpusOptions corpus;
  std::filesystem::path out;
  int vocab_size = 8000;
  std::string model_type = "unigram";      // unigram | bpe
  bool byte_fallback = true;               // unknown characters become byte pieces: lossless
  std::string normalization = "identity";  // identity | nfkc | nmt_nfkc | nfkc_cf | nmt_nfkc_cf
  double character_coverage = 0.9995;
  std::int64_t max_sentences = 2000000;    // sampled (reservoir) beyond this
  int threads = 0;                         // 0 = all cores
  std::uint64_t seed = 0;
  bool overwrite = false;
  bool verbose = false;                    // SentencePiece's own log
};

struct TokenizerTrainSummary {
  std::string fingerprint;
  int vocab_size = 0;
  std::uint64_t sentences = 0;
  CorpusStats corpus;
};

TokenizerTrainSummary train_tokenizer(const TokenizerTrainOptions& options);

}  // namespace unmask
