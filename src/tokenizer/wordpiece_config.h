// Reading an HF tokenizer.json with a WordPiece model into what the
// WordPiece tokenizer runs (internal): the vocabulary, BertNormalizer and
// decoder settings, added tokens with HF's id rule, unmask's special ids.
// Anything the tokenizer would not run exactly as HF does is an error.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "added_tokens.h"
#include "unmask/tokenizer/tokenizer.h"

namespace unmask {

struct WordPieceConfig {
  struct {
    bool present = false, clean_text = true, handle_chinese_chars = true, strip_accents = true, lowercase = true;
  } normalizer;
  bool bert_pre_tokenizer = false;
  std::string prefix = "##";  // continuing_subword_prefix
  int unk_id = 0;
  int max_input_chars_per_word = 100;
  bool decoder = false;
  std::string decoder_prefix = "##";
  bool decoder_cleanup = true;
  std::vector<AddedToken> added;
  SpecialTokens special;
};

// `where` names the file in errors; `vocab` receives the model vocabulary.
WordPieceConfig parse_wordpiece_config(const std::string& json, const std::string& where,
                                       std::unordered_map<std::string, int>& vocab);

}  // namespace unmask
