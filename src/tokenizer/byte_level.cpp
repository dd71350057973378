// GPT-2's byte-level alphabet and its inverse (byte_level.h): bytes_to_unicode
// from openai/gpt-2 encoder.py (= tokenizers pre_tokenizers/byte_level.rs),
// and Rust's from_utf8_lossy (core::str::lossy, Utf8Chunks) for decoding.
#include "byte_level.h"

#include <utf8.h>

#include <iterator>

namespace unmask::byte_level {
namespace {

constexpr char32_t kLast = 0x100 + 68;  // one past the highest code point of the alphabet

struct Tables {
  std::array<char32_t, 256> chars{};
  std::array<std::string, 256> utf8;
  std::array<int, kLast> byte_of{};  // code point -> byte, -1 when none
  Tables() {
    byte_of.fill(-1);
    char32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      chars[b] = printable ? static_cast<char32_t>(b) : next++;
      utf8::append(static_cast<std::uint32_t>(chars[b]), std::back_inserter(utf8[b]));
      byte_of[chars[b]] = b;
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const std::array<std::string, 256>& byte_to_utf8() { return tables().utf8; }

char32_t next_char(std::string_view s, std::size_t& i) {
  const auto b = static_cast<unsigned char>(s[i]);
  const int n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
  char32_t c = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
  for (int k = 1; k < n && i + k < s.size(); ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += static_cast<std::size_t>(n);
  return c;
}

char32_t prev_char(std::string_view s, std::size_t end, std::size_t& start) {
  start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  std::size_t i = start;
  return next_char(s, i);
}

bool token_bytes(std::string_view token, std::string& out) {
  const Tables& t = tables();
  const std::size_t before = out.size();
  for (std::size_t i = 0; i < token.size();) {
    const char32_t c = next_char(token, i);
    if (c >= kLast || t.byte_of[c] < 0) {
      out.resize(before);
      return false;
    }
    out.push_back(static_cast<char>(t.byte_of[c]));
  }
  return true;
}

std::string utf8_lossy(std::string_view s) {
  static const char kReplacement[] = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(s.size());
  auto cont = [&](std::size_t k, unsigned lo, unsigned hi) {
    if (k >= s.size()) return false;
    const auto b = static_cast<unsigned char>(s[k]);
    return b >= lo && b <= hi;
  };
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      out.push_back(static_cast<char>(b));
      ++i;
      continue;
    }
    // Width and the range of the second byte (Unicode Table 3-7), then the
    // longest valid prefix: a broken sequence is one U+FFFD, and decoding
    // resumes at the first byte that does not fit.
    int width = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) width = 2;
    else if (b >= 0xE0 && b <= 0xEF) width = 3, lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
    else if (b >= 0xF0 && b <= 0xF4) width = 4, lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
    std::size_t len = 1;
    if (width > 0 && cont(i + 1, lo, hi)) {
      len = 2;
      while (len < static_cast<std::size_t>(width) && cont(i + len, 0x80, 0xBF)) ++len;
    }
    if (width > 0 && len == static_cast<std::size_t>(width)) out.append(s.substr(i, len));
    else out += kReplacement;
    i += len;
  }
  return out;
}

bool is_whitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

}  // namespace unmask::byte_level
