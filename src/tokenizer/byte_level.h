// GPT-2's byte-level alphabet (internal): every byte as one printable Unicode
// character (bytes_to_unicode of openai/gpt-2 encoder.py, used by HF
// `tokenizers`' ByteLevel pre-tokenizer and decoder), the way back with
// invalid UTF-8 replaced as Rust's String::from_utf8_lossy does, and Rust's
// char::is_whitespace, which HF's added-token lstrip/rstrip use.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace unmask::byte_level {

// The UTF-8 text of each byte's character ("Ġ" for ' ').
const std::array<std::string, 256>& byte_to_utf8();

// The bytes of a byte-level token ("Ġthe" -> " the"); false when a character
// is not in the alphabet (HF's decoder then keeps the token's own UTF-8).
bool token_bytes(std::string_view token, std::string& out);

// UTF-8 with every maximal invalid subsequence replaced by U+FFFD, as Rust's
// String::from_utf8_lossy (the ByteLevel decoder's last step).
std::string utf8_lossy(std::string_view bytes);

// Rust's char::is_whitespace (Unicode White_Space).
bool is_whitespace(char32_t c);

// Decodes the UTF-8 character at s[i] (valid UTF-8 expected), advancing i.
char32_t next_char(std::string_view s, std::size_t& i);
// The code point of the UTF-8 character that ends just before s[end], and its start.
char32_t prev_char(std::string_view s, std::size_t end, std::size_t& start);

}  // namespace unmask::byte_level
