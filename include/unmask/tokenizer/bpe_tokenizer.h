// Byte-level BPE (GPT-2, RoBERTa), exactly as HF `tokenizers` runs such a
// `tokenizer.json`: added tokens matched in the raw text, the ByteLevel
// pre-tokenizer (GPT-2's regex through PCRE2, optionally after Split regexes;
// add_prefix_space), bytes mapped to GPT-2's printable alphabet, BPE merges
// by rank, and the ByteLevel decoder. Ids are those of
// `Tokenizer.encode(text, add_special_tokens=False)` (tested on the fortunes
// corpus and Unicode edge cases); `decode` is
// `decode(ids, skip_special_tokens=True)`.
//
// Special tokens for unmask: RoBERTa's <pad> <unk> <s> (BOS) </s> (EOS)
// <mask>; GPT-2's <|endoftext|> is BOS, EOS, unk and pad, and its mask is
// the [MASK] that loading an HF tokenizer without one appends (tokenizer.h).
#pragma once

#include <memory>
#include <string>

#include "unmask/tokenizer/tokenizer.h"

namespace unmask {

class BpeTokenizer : public Tokenizer {
 public:
  // `json`: the text of an HF tokenizer.json with a byte-level BPE model;
  // `where` names it in errors. Error for options unmask would not run as HF.
  BpeTokenizer(const std::string& json, const std::string& where, const std::filesystem::path& dir,
               const std::string& fingerprint);
  ~BpeTokenizer() override;

  std::string type() const override { return "bpe"; }
  std::vector<int> encode(const std::string& text) const override;  // thread-safe
  std::string decode(const std::vector<int>& ids) const override;
  int vocab_size() const override;
  std::string piece(int id) const override;
  std::string model_bytes() const override { return json_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string json_;
};

// An HF tokenizer.json for `vocab.json` + `merges.txt` as transformers'
// GPT2TokenizerFast / RobertaTokenizerFast build it: RoBERTa when the
// vocabulary has <s> <pad> </s> <unk> <mask> (<mask> with lstrip), else GPT-2
// (<|endoftext|>). add_prefix_space and the added tokens' flags come from
// tokenizer_config.json (`added_tokens_decoder`) and special_tokens_map.json
// when given (either may be ""). `dir` names the files in errors.
std::string bpe_json_from_vocab(const std::string& vocab_json, const std::string& merges_txt,
                                const std::string& tokenizer_config_json, const std::string& special_tokens_map_json,
                                const std::string& dir);

}  // namespace unmask
