// SentencePiece implementation of Tokenizer (Debian's libsentencepiece).
#pragma once

#include <memory>

#include "unmask/tokenizer/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace unmask {

class SentencePieceTokenizer : public Tokenizer {
 public:
  // `model_file` is DIR/tokenizer.model; `fingerprint` its SHA-256 (hex).
  SentencePieceTokenizer(const std::filesystem::path& dir, const std::string& fingerprint);
  ~SentencePieceTokenizer() override;

  std::string type() const override { return "sentencepiece"; }
  std::vector<int> encode(const std::string& text) const override;
  std::string decode(const std::vector<int>& ids) const override;
  int vocab_size() const override;
  std::string piece(int id) const override;

 private:
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
};

}  // namespace unmask
