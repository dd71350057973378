// A structural check of a SentencePiece model file (a serialized ModelProto)
// before SentencePiece itself loads it. SentencePiece trusts its input: a
// model with an empty piece, or one holding a NUL byte, makes its trie
// builder throw through a noexcept boundary and abort the process (found by
// fuzz_tokenizer_dir). Debian ships
// no ModelProto schema or generated code for it, so this reads the protobuf
// wire format by hand, only as far as the check needs: the repeated `pieces`
// (field 1) and, in each, its `piece` string (field 1).
#pragma once

#include <string>

namespace unmask {

// Error naming `file` unless `bytes` is well-formed protobuf wire data whose
// pieces all have a non-empty piece string without NUL bytes.
void check_sentencepiece_model(const std::string& bytes, const std::string& file);

}  // namespace unmask
