// Wire-format walk of a SentencePiece ModelProto (see the header). Protobuf
// encoding: each field is a varint key (number << 3 | wire type) followed by
// a varint (type 0), 8 bytes (1), a varint length and that many bytes (2) or
// 4 bytes (5); groups (3, 4) do not occur in ModelProto.
#include "unmask/tokenizer/sentencepiece_model_check.h"

#include <cstdint>

#include "unmask/util/error.h"

namespace unmask {
namespace {

struct Reader {
  const std::string& bytes;
  std::size_t pos, end;
  const std::string& file;

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(file + " is not a valid SentencePiece model (" + what + " at byte " + std::to_string(pos) + ")");
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= end) fail("truncated varint");
      const auto b = static_cast<std::uint8_t>(bytes[pos++]);
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail("overlong varint");
  }
  // Skips the value of a field of this wire type; for type 2 returns its [begin, end).
  std::pair<std::size_t, std::size_t> value(std::uint64_t wire_type) {
    switch (wire_type) {
      case 0: varint(); return {pos, pos};
      case 1: return skip(8);
      case 2: {
        const std::uint64_t n = varint();
        if (n > end - pos) fail("length beyond the end");
        return skip(static_cast<std::size_t>(n));
      }
      case 5: return skip(4);
      default: fail("unsupported wire type " + std::to_string(wire_type));
    }
  }
  std::pair<std::size_t, std::size_t> skip(std::size_t n) {
    if (n > end - pos) fail("truncated field");
    pos += n;
    return {pos - n, pos};
  }
};

}  // namespace

void check_sentencepiece_model(const std::string& bytes, const std::string& file) {
  Reader top{bytes, 0, bytes.size(), file};
  std::size_t pieces = 0;
  while (top.pos < top.end) {
    const std::uint64_t key = top.varint();
    if ((key >> 3) == 0) top.fail("field number 0");
    const auto [begin, end] = top.value(key & 7);
    if (key != ((1u << 3) | 2)) continue;  // only ModelProto.pieces (field 1, length-delimited)
    ++pieces;
    Reader piece{bytes, begin, end, file};
    bool named = false;
    while (piece.pos < piece.end) {
      const std::uint64_t k = piece.varint();
      if ((k >> 3) == 0) piece.fail("field number 0");
      const auto [b, e] = piece.value(k & 7);
      // SentencePiece.piece (the last occurrence wins). Its trie takes pieces as
      // C strings: a NUL byte would cut one short, "\0..." to an empty key.
      if (k == ((1u << 3) | 2)) named = e > b && bytes.find('\0', b) >= e;
    }
    if (!named) throw Error(file + " is not a valid SentencePiece model (piece " + std::to_string(pieces - 1) +
                            " is empty or contains a NUL byte)");
  }
  if (pieces == 0) throw Error(file + " is not a valid SentencePiece model (it has no pieces)");
}

}  // namespace unmask
