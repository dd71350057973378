// Prompt templates with [MASK:n] spans (`sample --prompt/--prompt-file`): the
// pieces must cover the text exactly, spans counted as parsed.
#include <string>

#include "harness.h"
#include "unmask/sampling/prompt_template.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  return unmask::fuzz::expect_clear_errors([&] {
    std::string rebuilt;
    std::int64_t total = 0;
    for (const auto& p : unmask::parse_prompt_template(text)) {
      if ((p.masks > 0) == !p.text.empty()) __builtin_trap();  // a piece is text or a span, never both or neither
      rebuilt += p.masks > 0 ? "[MASK:" + std::to_string(p.masks) + "]" : p.text;
      total += p.masks;
    }
    if (total > unmask::kMaxInfillTokens) __builtin_trap();
    // Leading zeros ("[MASK:05]") are the only way the text may differ.
    if (rebuilt.size() > text.size()) __builtin_trap();
  });
}
