// A PCRE2 regex that cuts text the way HF `tokenizers` splits with
// SplitDelimiterBehavior::Isolated (internal): every match is a piece, and so
// is the text between matches. Compiled once (UTF + UCP, so \s \p{L} \p{N}
// are Unicode's; JIT when PCRE2 has it), used from any number of threads:
// each thread has its own match data.
#pragma once

#include <string>
#include <string_view>

namespace unmask {

class RegexSplitter {
 public:
  // Error naming `where` when the pattern does not compile. `literal`: the
  // pattern is plain text (HF's Split with a String pattern).
  RegexSplitter(const std::string& pattern, bool literal, const std::string& where);
  ~RegexSplitter();
  RegexSplitter(const RegexSplitter&) = delete;
  RegexSplitter& operator=(const RegexSplitter&) = delete;

  // Calls f(piece) for each non-empty piece of `text` (valid UTF-8), in order.
  template <class F>
  void split(std::string_view text, F&& f) const {
    std::size_t done = 0, at = 0, begin = 0, end = 0;
    while (at <= text.size() && next_match(text, at, begin, end)) {
      if (begin > done) f(text.substr(done, begin - done));
      if (end > begin) {
        f(text.substr(begin, end - begin));
        done = at = end;
      } else {  // an empty match: step over one character
        at = end + 1;
        while (at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) ++at;
        done = begin;
      }
    }
    if (text.size() > done) f(text.substr(done));
  }

 private:
  // The first match at or after `at`: [begin, end). False when there is none.
  bool next_match(std::string_view text, std::size_t at, std::size_t& begin, std::size_t& end) const;

  void* code_ = nullptr;  // pcre2_code_8
  std::string where_;
};

}  // namespace unmask
