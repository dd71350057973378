// SentencePiece-backed tokenizer: encode/decode through SentencePieceProcessor,
// special-token ids read from the model's own pieces.
#include "unmask/tokenizer/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include "unmask/tokenizer/sentencepiece_model_check.h"
#include "unmask/util/error.h"
#include "unmask/util/fs.h"

namespace unmask {

SentencePieceTokenizer::SentencePieceTokenizer(const std::filesystem::path& dir, const std::string& fingerprint)
    : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  dir_ = dir;
  fingerprint_ = fingerprint;
  const auto model = dir / kTokenizerModel;
  const std::string bytes = read_file(model);
  check_sentencepiece_model(bytes, model.string());
  const auto status = sp_->LoadFromSerializedProto(bytes);
  if (!status.ok()) throw Error("cannot load SentencePiece model " + model.string() + ": " + status.ToString());
  auto id_of = [&](const char* piece) {
    const int id = sp_->PieceToId(piece);
    if (id == sp_->unk_id() && std::string(piece) != "[UNK]")
      throw Error(model.string() + " has no " + piece +
                  " piece; unmask needs [PAD] [UNK] [BOS] [EOS] [MASK] (train with 'unmask tokenizer train')");
    return id;
  };
  special_.pad = id_of("[PAD]");
  special_.unk = id_of("[UNK]");
  special_.bos = id_of("[BOS]");
  special_.eos = id_of("[EOS]");
  special_.mask = id_of("[MASK]");
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::vector<int> SentencePieceTokenizer::encode(const std::string& text) const {
  std::vector<int> ids;
  const auto status = sp_->Encode(text, &ids);
  if (!status.ok()) throw Error("SentencePiece encode failed: " + status.ToString());
  return ids;
}

std::string SentencePieceTokenizer::decode(const std::vector<int>& ids) const {
  const int n = sp_->GetPieceSize();
  for (int id : ids)
    if (id < 0 || id >= n)
      throw Error("token id " + std::to_string(id) + " is outside the vocabulary (size " + std::to_string(n) + ")");
  std::string text;
  const auto status = sp_->Decode(ids, &text);
  if (!status.ok()) throw Error("SentencePiece decode failed: " + status.ToString());
  return text;
}

int SentencePieceTokenizer::vocab_size() const { return sp_->GetPieceSize(); }

std::string SentencePieceTokenizer::piece(int id) const {
  if (id < 0 || id >= sp_->GetPieceSize()) throw Error("token id " + std::to_string(id) + " is outside the vocabulary");
  return sp_->IdToPiece(id);
}

}  // namespace unmask
