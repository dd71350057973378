// BERT's WordPiece tokenizer, exactly as HF `tokenizers` runs a BERT
// `tokenizer.json`: added tokens matched in the raw text, BertNormalizer
// (clean-up, CJK spacing, accent stripping, lower-casing), BertPreTokenizer
// (whitespace and punctuation), greedy longest-match WordPiece with a
// continuation prefix and [UNK] for words it cannot cover, and the WordPiece
// decoder. Ids are those of `Tokenizer.encode(text, add_special_tokens=False)`
// (tested on the fortunes corpus and Unicode edge cases); `decode` is
// `decode(ids, skip_special_tokens=True)`.
//
// Special tokens for unmask: [PAD] pad, the model's unk_token unk, the
// post-processor's [CLS] as BOS and [SEP] as EOS, [MASK] mask.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "unmask/tokenizer/tokenizer.h"

namespace unmask {

class WordPieceTokenizer : public Tokenizer {
 public:
  // `json`: the text of an HF tokenizer.json with a WordPiece model; `where`
  // names it in errors. Error for other models, normalizers or pre-tokenizers.
  WordPieceTokenizer(const std::string& json, const std::string& where, const std::filesystem::path& dir,
                     const std::string& fingerprint);
  ~WordPieceTokenizer() override;

  std::string type() const override { return "wordpiece"; }
  std::vector<int> encode(const std::string& text) const override;
  std::string decode(const std::vector<int>& ids) const override;
  int vocab_size() const override;
  std::string piece(int id) const override;
  std::string model_bytes() const override { return json_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string json_;
};

// An HF tokenizer.json for a `vocab.txt` as transformers' BertTokenizerFast
// builds it (lines are tokens, ids their line numbers; lower-casing, CJK
// spacing and accent stripping from tokenizer_config.json when given).
std::string wordpiece_json_from_vocab(const std::string& vocab_txt, const std::string& tokenizer_config_json,
                                      const std::string& where);

}  // namespace unmask
