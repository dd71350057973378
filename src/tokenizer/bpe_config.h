// Reading an HF tokenizer.json with a byte-level BPE model into what the BPE
// tokenizer runs (internal): the vocabulary, the merges by rank, the
// pre-tokenizer steps (ByteLevel, optionally after Split regexes), the
// decoder, added tokens with HF's id rule, and unmask's special ids.
// Anything the tokenizer would not run exactly as HF does is an error.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "added_tokens.h"
#include "unmask/tokenizer/tokenizer.h"

namespace unmask {

// GPT-2's pre-tokenization regex (tokenizers pre_tokenizers/byte_level.rs).
inline constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// One pre-tokenizer step, applied to each piece the previous step made.
struct PreTokenizeStep {
  bool byte_level = false;        // ByteLevel (always the last step), else Split
  std::string pattern;            // Split: a PCRE2 pattern; ByteLevel with use_regex: GPT-2's
  bool literal = false;           // Split with a String pattern
  bool add_prefix_space = false;  // ByteLevel: " " before a piece that does not start with one
};

struct BpeMerge {
  int left = 0, right = 0, merged = 0;  // token ids
};

struct BpeConfig {
  std::vector<std::string> tokens;             // model vocabulary by id (0..N-1)
  std::unordered_map<std::string, int> vocab;  // and back
  std::vector<BpeMerge> merges;                // by rank
  int unk_id = -1;                             // -1: characters outside the vocabulary are dropped
  bool fuse_unk = false, ignore_merges = false;
  std::vector<PreTokenizeStep> pre;
  bool byte_level_decoder = false;  // else the tokens joined by spaces, as HF without a decoder
  std::vector<AddedToken> added;
  SpecialTokens special;
};

// `where` names the file in errors.
BpeConfig parse_bpe_config(const std::string& json, const std::string& where);

}  // namespace unmask
