// The body of `POST /v1/completions` (OpenAI's completions format plus
// unmask's own fields) parsed and checked, without tensors: every field has a
// type and a range, unknown fields are refused, and every refusal is an
// ApiError that names the field (the server answers it as OpenAI's error
// object). Fuzzed (fuzz/completion_request.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace unmask::serve {

// An error the server answers with `status` and
// {"error": {"message", "type", "param", "code"}} (OpenAI's error object).
struct ApiError : std::runtime_error {
  ApiError(int status, const std::string& message, std::string param = "", std::string type = "invalid_request_error",
           std::string code = "")
      : std::runtime_error(message), status(status), type(std::move(type)), param(std::move(param)),
        code(std::move(code)) {}
  int status;
  std::string type, param, code;
};

// Limits of one request (the server's flags set the first two).
struct CompletionLimits {
  std::int64_t max_n = 64;         // choices per request (n × prompts)
  std::int64_t max_steps = 100000; // denoising steps
};

struct CompletionRequest {
  std::optional<std::string> model;
  std::vector<std::string> prompts;  // one or more; a choice per prompt and n
  bool prompt_was_list = false;
  std::int64_t max_tokens = 16;      // generated positions after the prompt (OpenAI's default 16)
  bool max_tokens_given = false;
  std::optional<double> temperature, top_p;
  std::optional<std::int64_t> top_k;
  std::optional<std::uint64_t> seed;
  std::int64_t n = 1;
  std::vector<std::string> stop;     // up to 4 sequences; the text ends before the first one found
  bool stream = false;
  bool include_usage = false;        // stream_options.include_usage
  // unmask's own fields (docs/SERVING.md): the sampler and its settings.
  std::optional<std::string> sampler, inner, unmask, confidence, remdm, cache, filter;
  std::optional<std::int64_t> steps, block_size, cache_refresh;
  std::optional<double> threshold, factor, eta;
  bool infill = false;               // the prompt is a template: its [MASK:n] spans are filled too
  bool stream_steps = false;         // stream every denoising step as an `event: step` frame
};

// Parses and checks a request body (JSON text). Throws ApiError (400) naming
// the field for malformed JSON, a wrong type, an unknown field or a value out
// of range.
CompletionRequest parse_completion_request(const std::string& body, const CompletionLimits& limits = {});

}  // namespace unmask::serve
