// The Tokenizer interface and the tokenizer directory format:
//   DIR/tokenizer.json   {"type", "vocab_size", "special": {...}, "fingerprint", "training": {...}}
//   DIR/tokenizer.model  the model file itself (for SentencePiece, its .model)
// The fingerprint is the SHA-256 of the model file; it is stored wherever token
// ids are stored (shards, checkpoints) and checked when they meet again.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace unmask {

// Ids of the special tokens; fixed at training time: [PAD] 0, [UNK] 1, [BOS] 2, [EOS] 3, [MASK] 4.
struct SpecialTokens {
  int pad = 0, unk = 1, bos = 2, eos = 3, mask = 4;
};

inline constexpr const char* kTokenizerMeta = "tokenizer.json";
inline constexpr const char* kTokenizerModel = "tokenizer.model";

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  virtual std::string type() const = 0;
  // Thread-safe: prepare encodes on all cores with one shared tokenizer.
  virtual std::vector<int> encode(const std::string& text) const = 0;
  virtual std::string decode(const std::vector<int>& ids) const = 0;
  virtual int vocab_size() const = 0;
  virtual std::string piece(int id) const = 0;
  // The bytes of its model file, as a tokenizer directory stores them in
  // DIR/tokenizer.model (default: that file of dir()).
  virtual std::string model_bytes() const;

  const SpecialTokens& special() const { return special_; }
  const std::string& fingerprint() const { return fingerprint_; }  // 64 hex chars
  const std::filesystem::path& dir() const { return dir_; }

 protected:
  SpecialTokens special_;
  std::string fingerprint_;
  std::filesystem::path dir_;
};

// Loads DIR (written by `unmask tokenizer train`), verifying the fingerprint,
// or an HF model directory: tokenizer.json with a WordPiece or byte-level BPE
// model, vocab.txt (BERT), or vocab.json + merges.txt (GPT-2, RoBERTa). An HF
// tokenizer without a mask token gets "[MASK]" appended at id vocab_size
// (written into the tokenizer.json it runs, stores and fingerprints).
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& dir);
// Writes `tok` as an unmask tokenizer directory at `dest` (created): an unmask
// directory's two files as they are; an HF tokenizer's model as tokenizer.model
// with new metadata, so that the fingerprint stays the same.
void save_tokenizer(const Tokenizer& tok, const std::filesystem::path& dest);

// Registered tokenizer types ("bpe", "sentencepiece", "wordpiece").
std::vector<std::string> tokenizer_types();

nlohmann::json special_tokens_to_json(const SpecialTokens& s);
SpecialTokens special_tokens_from_json(const nlohmann::json& j);  // json type_error unless 5 int ids
// Error naming `where` unless 1 <= vocab_size < 2^31 and every id lies in [0, vocab_size).
void check_special_tokens(const SpecialTokens& s, std::int64_t vocab_size, const std::string& where);

}  // namespace unmask
