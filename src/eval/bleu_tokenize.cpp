// BLEU tokenizers. The 13a rules follow sacrebleu's Tokenizer13a and
// TokenizerRegexp (tokenizer_13a.py, tokenizer_re.py), which reproduce
// mteval-v13a.pl. All their regex classes are ASCII, so they run here on UTF-8
// bytes with the same result as Python's code-point regexes.
#include "unmask/eval/bleu_tokenize.h"

#include "unmask/util/error.h"

namespace unmask {
namespace {

// Byte length of the Python whitespace character starting at s[i], or 0.
std::size_t space_at(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  const unsigned c = b(0);
  if ((c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20)) return 1;
  if (c == 0xC2 && (b(1) == 0x85 || b(1) == 0xA0)) return 2;                       // U+0085, U+00A0
  if (c == 0xE1 && b(1) == 0x9A && b(2) == 0x80) return 3;                         // U+1680
  if (c == 0xE2 && b(1) == 0x80 && ((b(2) >= 0x80 && b(2) <= 0x8A) || b(2) == 0xA8 || b(2) == 0xA9 || b(2) == 0xAF))
    return 3;                                                                      // U+2000-200A, 2028, 2029, 202F
  if (c == 0xE2 && b(1) == 0x81 && b(2) == 0x9F) return 3;                         // U+205F
  if (c == 0xE3 && b(1) == 0x80 && b(2) == 0x80) return 3;                         // U+3000
  return 0;
}

// Byte length of the Python whitespace character ending at s[end - 1], or 0.
// In valid UTF-8 a suffix that spells one of these sequences is that character.
std::size_t space_before(std::string_view s, std::size_t end) {
  for (std::size_t len = 1; len <= 3 && len <= end; ++len)
    if (space_at(s, end - len) == len) return len;
  return 0;
}

// Python's str.replace(from, to): left to right, non-overlapping, the
// replacement is not scanned again.
std::string replace_all(const std::string& s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  std::size_t pos = 0;
  for (std::size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out.append(to);
  }
  out.append(s, pos, std::string::npos);
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// TokenizerRegexp rule 1: r'([\{-\~\[-\` -\&\(-\+\:-\@\/])' -> r' \1 '.
bool is_13a_symbol(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  return (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26) ||
         (c >= 0x28 && c <= 0x2B) || (c >= 0x3A && c <= 0x40) || c == '/';
}

}  // namespace

BleuTokenizer parse_bleu_tokenizer(const std::string& name) {
  if (name == "13a") return BleuTokenizer::k13a;
  if (name == "none") return BleuTokenizer::kNone;
  if (name == "space") return BleuTokenizer::kSpace;
  throw Error("unknown BLEU tokenizer '" + name + "' (valid: 13a, none, space)");
}

const char* bleu_tokenizer_name(BleuTokenizer tokenizer) {
  switch (tokenizer) {
    case BleuTokenizer::k13a: return "13a";
    case BleuTokenizer::kNone: return "none";
    case BleuTokenizer::kSpace: return "space";
  }
  return "?";
}

std::string tokenize_13a(std::string_view line) {
  // Language-independent part (mteval-v13a): drop <skipped>, join hyphenated
  // line breaks, unescape the four XML entities.
  std::string s(line);
  s = replace_all(s, "<skipped>", "");
  s = replace_all(s, "-\n", "");
  s = replace_all(s, "\n", " ");
  if (s.find('&') != std::string::npos) {
    s = replace_all(s, "&quot;", "\"");
    s = replace_all(s, "&amp;", "&");
    s = replace_all(s, "&lt;", "<");
    s = replace_all(s, "&gt;", ">");
  }
  s = " " + s + " ";

  std::string a;  // rule 1: pad punctuation and symbols with spaces
  a.reserve(s.size() * 2);
  for (char c : s) {
    if (is_13a_symbol(c)) {
      a += ' ';
      a += c;
      a += ' ';
    } else {
      a += c;
    }
  }
  std::string b;  // rule 2: r'([^0-9])([\.,])' -> r'\1 \2 ' (period/comma unless preceded by a digit)
  b.reserve(a.size() * 2);
  for (std::size_t i = 0; i < a.size();) {
    if (i + 1 < a.size() && !is_digit(a[i]) && (a[i + 1] == '.' || a[i + 1] == ',')) {
      b += a[i];
      b += ' ';
      b += a[i + 1];
      b += ' ';
      i += 2;
    } else {
      b += a[i++];
    }
  }
  std::string c;  // rule 3: r'([\.,])([^0-9])' -> r' \1 \2' (period/comma unless followed by a digit)
  c.reserve(b.size() * 2);
  for (std::size_t i = 0; i < b.size();) {
    if (i + 1 < b.size() && (b[i] == '.' || b[i] == ',') && !is_digit(b[i + 1])) {
      c += ' ';
      c += b[i];
      c += ' ';
      c += b[i + 1];
      i += 2;
    } else {
      c += b[i++];
    }
  }
  std::string d;  // rule 4: r'([0-9])(-)' -> r'\1 \2 ' (dash preceded by a digit)
  d.reserve(c.size() * 2);
  for (std::size_t i = 0; i < c.size();) {
    if (i + 1 < c.size() && is_digit(c[i]) && c[i + 1] == '-') {
      d += c[i];
      d += " - ";
      i += 2;
    } else {
      d += c[i++];
    }
  }
  std::string out;  // ' '.join(line.split())
  for (const auto& token : split_whitespace(d)) {
    if (!out.empty()) out += ' ';
    out += token;
  }
  return out;
}

std::vector<std::string> bleu_tokens(std::string_view line, BleuTokenizer tokenizer) {
  switch (tokenizer) {
    case BleuTokenizer::k13a: return split_whitespace(tokenize_13a(rstrip_whitespace(line)));
    case BleuTokenizer::kNone: return split_whitespace(rstrip_whitespace(line));
    case BleuTokenizer::kSpace: {
      std::vector<std::string> tokens;
      const std::string_view s = strip_whitespace(line);
      std::size_t start = 0;
      for (std::size_t i = 0; i <= s.size(); ++i)
        if (i == s.size() || s[i] == ' ') {
          tokens.emplace_back(s.substr(start, i - start));
          start = i + 1;
        }
      return tokens;
    }
  }
  return {};
}

std::vector<std::string> split_whitespace(std::string_view text) {
  std::vector<std::string> tokens;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t n;
    while (i < text.size() && (n = space_at(text, i)) > 0) i += n;
    const std::size_t start = i;
    while (i < text.size() && space_at(text, i) == 0) ++i;
    if (i > start) tokens.emplace_back(text.substr(start, i - start));
  }
  return tokens;
}

std::string_view rstrip_whitespace(std::string_view text) {
  std::size_t end = text.size();
  for (std::size_t n; end > 0 && (n = space_before(text, end)) > 0;) end -= n;
  return text.substr(0, end);
}

std::string_view strip_whitespace(std::string_view text) {
  text = rstrip_whitespace(text);
  std::size_t start = 0;
  for (std::size_t n; start < text.size() && (n = space_at(text, start)) > 0;) start += n;
  return text.substr(start);
}

}  // namespace unmask
