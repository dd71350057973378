// Prompt templates of `unmask sample --prompt/--prompt-file`:
// "The [MASK:5] sat on the [MASK:2]." is fixed text with spans of n tokens to
// infill. Parsed here without a tokenizer or tensors (fuzzed by
// fuzz/prompt_template.cpp); sampling/run.cpp encodes the text pieces.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace unmask {

inline constexpr std::int64_t kMaxInfillTokens = 1 << 20;  // per prompt, all spans together

struct PromptPiece {
  std::string text;        // fixed text (empty for a span)
  std::int64_t masks = 0;  // n of a [MASK:n] span (0 for text)
};

// Pieces in order, never an empty text piece. Error for "[MASK:" not followed
// by decimal digits n >= 1 and "]", or more than kMaxInfillTokens in all.
std::vector<PromptPiece> parse_prompt_template(const std::string& text);

}  // namespace unmask
