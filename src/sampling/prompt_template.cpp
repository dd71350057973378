// Parsing of [MASK:n] prompt templates (see prompt_template.h).
#include "unmask/sampling/prompt_template.h"

#include "unmask/util/error.h"

namespace unmask {

std::vector<PromptPiece> parse_prompt_template(const std::string& text) {
  static const std::string open_tag = "[MASK:";
  std::vector<PromptPiece> pieces;
  std::int64_t total = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t open = text.find(open_tag, pos);
    if (open != pos) pieces.push_back({text.substr(pos, open == std::string::npos ? std::string::npos : open - pos), 0});
    if (open == std::string::npos) break;
    const std::size_t digits = open + open_tag.size();
    std::size_t end = digits;
    std::int64_t n = 0;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9' && n <= kMaxInfillTokens)
      n = n * 10 + (text[end++] - '0');
    total += n;
    if (n > kMaxInfillTokens || total > kMaxInfillTokens)
      throw Error("the [MASK:n] spans of one prompt ask for more than " + std::to_string(kMaxInfillTokens) +
                  " tokens; --length bounds a sample far below that");
    if (end == digits || end >= text.size() || text[end] != ']' || n < 1)
      throw Error("bad infilling span in --prompt near '" + text.substr(open, 12) + "' (write [MASK:n], n >= 1)");
    pieces.push_back({"", n});
    pos = end + 1;
  }
  return pieces;
}

}  // namespace unmask
