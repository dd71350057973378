// The body of POST /v1/completions (`unmask serve`): any bytes either parse
// into a request whose fields lie in their ranges, or are refused with an
// ApiError (400) that names what is wrong; nothing else may escape.
#include <string>

#include "harness.h"
#include "unmask/serve/completion_request.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  unmask::serve::CompletionLimits limits;
  limits.max_n = 16;
  try {
    const auto r = unmask::serve::parse_completion_request(body, limits);
    if (r.prompts.empty() || r.n < 1 || static_cast<std::int64_t>(r.prompts.size()) * r.n > limits.max_n) __builtin_trap();
    if (r.max_tokens < 0 || (r.max_tokens == 0 && !r.infill) || r.stop.size() > 4) __builtin_trap();
    if (r.temperature && !(*r.temperature >= 0)) __builtin_trap();
    if (r.top_p && !(*r.top_p > 0 && *r.top_p <= 1)) __builtin_trap();
    if (r.steps && (*r.steps < 1 || *r.steps > limits.max_steps)) __builtin_trap();
  } catch (const unmask::serve::ApiError& e) {
    if (e.status != 400 || std::string(e.what()).empty()) __builtin_trap();
  }
  return 0;
}
