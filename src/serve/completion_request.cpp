// Parsing and checking the body of POST /v1/completions (completion_request.h).
#include "unmask/serve/completion_request.h"

#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

namespace unmask::serve {
namespace {

using json = nlohmann::json;

constexpr int kMaxDepth = 8;                  // deepest nesting a valid body has is 2 (stream_options)
constexpr std::size_t kMaxPromptList = 64;    // prompts in one request
constexpr std::size_t kMaxStop = 4;           // OpenAI's limit on stop sequences

[[noreturn]] void bad(const std::string& field, const std::string& message) { throw ApiError(400, message, field); }

std::string type_name(const json& v) {
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  return std::string("a") + (v.is_object() || v.is_array() ? "n " : " ") + v.type_name();
}

std::int64_t integer(const json& v, const std::string& field, std::int64_t lo, std::int64_t hi) {
  if (!v.is_number_integer()) bad(field, "'" + field + "' must be an integer, got " + type_name(v));
  // Positive JSON integers parse as unsigned (up to 2^64 − 1): compare them as such.
  bool inside;
  if (v.is_number_unsigned()) {
    const auto x = v.get<std::uint64_t>();
    inside = x <= static_cast<std::uint64_t>(hi) && (lo <= 0 || x >= static_cast<std::uint64_t>(lo));
  } else {
    const auto x = v.get<std::int64_t>();
    inside = x >= lo && x <= hi;
  }
  if (!inside)
    bad(field, "'" + field + "' must lie in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + v.dump());
  return v.get<std::int64_t>();
}

double number(const json& v, const std::string& field, double lo, double hi, bool open_lo = false) {
  if (!v.is_number()) bad(field, "'" + field + "' must be a number, got " + type_name(v));
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < lo || x > hi || (open_lo && x == lo)) {
    char range[96];
    std::snprintf(range, sizeof range, "%s%g, %g]", open_lo ? "(" : "[", lo, hi);
    bad(field, "'" + field + "' must lie in " + range);
  }
  return x;
}

bool boolean(const json& v, const std::string& field) {
  if (!v.is_boolean()) bad(field, "'" + field + "' must be true or false, got " + type_name(v));
  return v.get<bool>();
}

std::string string(const json& v, const std::string& field, std::size_t max_bytes = 64) {
  if (!v.is_string()) bad(field, "'" + field + "' must be a string, got " + type_name(v));
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() > max_bytes) bad(field, "'" + field + "' is longer than " + std::to_string(max_bytes) + " bytes");
  return s;
}

// A string or a list of strings (prompt, stop).
std::vector<std::string> strings(const json& v, const std::string& field, std::size_t max_items, bool* was_list) {
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array())
    bad(field, "'" + field + "' must be a string or a list of strings, got " + type_name(v));
  if (v.empty()) bad(field, "'" + field + "' must not be an empty list");
  if (v.size() > max_items) bad(field, "'" + field + "' holds at most " + std::to_string(max_items) + " items");
  std::vector<std::string> out;
  for (const auto& item : v) {
    if (!item.is_string())
      bad(field, "'" + field + "' must be a string or a list of strings (token-id prompts are not supported), got " +
                     type_name(item) + " in the list");
    out.push_back(item.get<std::string>());
  }
  if (was_list) *was_list = true;
  return out;
}

// OpenAI fields unmask does not implement: accepted only at their neutral value.
void neutral(const json& v, const std::string& field, const std::function<bool(const json&)>& is_neutral,
             const std::string& what) {
  if (!v.is_null() && !is_neutral(v)) bad(field, "'" + field + "' is not supported by unmask serve (" + what + ")");
}

}  // namespace

CompletionRequest parse_completion_request(const std::string& body, const CompletionLimits& limits) {
  json j;
  try {
    // The callback refuses deep nesting before it is built.
    j = json::parse(body, [](int depth, json::parse_event_t, json&) {
      if (depth > kMaxDepth) throw ApiError(400, "the request body nests deeper than " + std::to_string(kMaxDepth) + " levels");
      return true;
    });
  } catch (const json::exception& e) {
    throw ApiError(400, std::string("the request body is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw ApiError(400, "the request body must be a JSON object, got " + type_name(j));
  CompletionRequest r;
  bool has_prompt = false;
  using Setter = std::function<void(const json&)>;
  const std::map<std::string, Setter> fields = {
      {"model", [&](const json& v) { r.model = string(v, "model", 256); }},
      {"prompt", [&](const json& v) {
         r.prompts = strings(v, "prompt", kMaxPromptList, &r.prompt_was_list);
         has_prompt = true;
       }},
      {"max_tokens", [&](const json& v) {
         if (v.is_null()) return;
         r.max_tokens = integer(v, "max_tokens", 0, 1 << 20);
         r.max_tokens_given = true;
       }},
      {"temperature", [&](const json& v) { if (!v.is_null()) r.temperature = number(v, "temperature", 0, 100); }},
      {"top_p", [&](const json& v) { if (!v.is_null()) r.top_p = number(v, "top_p", 0, 1, /*open_lo=*/true); }},
      {"top_k", [&](const json& v) { if (!v.is_null()) r.top_k = integer(v, "top_k", 0, 1 << 24); }},
      {"seed", [&](const json& v) {
         if (v.is_null()) return;
         if (!v.is_number_integer()) bad("seed", "'seed' must be an integer, got " + type_name(v));
         r.seed = v.is_number_unsigned() ? v.get<std::uint64_t>() : static_cast<std::uint64_t>(v.get<std::int64_t>());
       }},
      {"n", [&](const json& v) { if (!v.is_null()) r.n = integer(v, "n", 1, limits.max_n); }},
      {"stop", [&](const json& v) {
         if (v.is_null()) return;
         r.stop = strings(v, "stop", kMaxStop, nullptr);
         for (const auto& s : r.stop)
           if (s.empty()) bad("stop", "'stop' sequences must not be empty");
       }},
      {"stream", [&](const json& v) { if (!v.is_null()) r.stream = boolean(v, "stream"); }},
      {"stream_options", [&](const json& v) {
         if (v.is_null()) return;
         if (!v.is_object()) bad("stream_options", "'stream_options' must be an object, got " + type_name(v));
         for (const auto& [key, value] : v.items()) {
           if (key != "include_usage") bad("stream_options", "unknown field 'stream_options." + key + "' (valid: include_usage)");
           r.include_usage = boolean(value, "stream_options.include_usage");
         }
       }},
      {"echo", [&](const json& v) { neutral(v, "echo", [](const json& x) { return x == false; }, "use false"); }},
      {"logprobs", [&](const json& v) { neutral(v, "logprobs", [](const json&) { return false; }, "use null"); }},
      {"best_of", [&](const json& v) { neutral(v, "best_of", [](const json& x) { return x == 1; }, "use null or 1"); }},
      {"frequency_penalty", [&](const json& v) {
         neutral(v, "frequency_penalty", [](const json& x) { return x.is_number() && x.get<double>() == 0; }, "use 0");
       }},
      {"presence_penalty", [&](const json& v) {
         neutral(v, "presence_penalty", [](const json& x) { return x.is_number() && x.get<double>() == 0; }, "use 0");
       }},
      {"logit_bias", [&](const json& v) {
         neutral(v, "logit_bias", [](const json& x) { return x.is_object() && x.empty(); }, "use null");
       }},
      {"suffix", [&](const json& v) {
         neutral(v, "suffix", [](const json&) { return false; }, "to fill text between a prefix and a suffix, "
                 "send \"infill\": true and a prompt with [MASK:n] spans");
       }},
      {"user", [&](const json& v) { if (!v.is_null()) string(v, "user", 256); }},
      // unmask's own fields
      {"sampler", [&](const json& v) { r.sampler = string(v, "sampler"); }},
      {"inner", [&](const json& v) { r.inner = string(v, "inner"); }},
      {"unmask", [&](const json& v) { r.unmask = string(v, "unmask"); }},
      {"confidence", [&](const json& v) { r.confidence = string(v, "confidence"); }},
      {"remdm", [&](const json& v) { r.remdm = string(v, "remdm"); }},
      {"cache", [&](const json& v) { r.cache = string(v, "cache"); }},
      {"filter", [&](const json& v) { r.filter = string(v, "filter"); }},
      {"steps", [&](const json& v) { r.steps = integer(v, "steps", 1, limits.max_steps); }},
      {"block_size", [&](const json& v) { r.block_size = integer(v, "block_size", 1, 1 << 20); }},
      {"cache_refresh", [&](const json& v) { r.cache_refresh = integer(v, "cache_refresh", 0, 1 << 20); }},
      {"threshold", [&](const json& v) { r.threshold = number(v, "threshold", 0, 1, /*open_lo=*/true); }},
      {"factor", [&](const json& v) { r.factor = number(v, "factor", 0, 1e6, /*open_lo=*/true); }},
      {"eta", [&](const json& v) { r.eta = number(v, "eta", 0, 1); }},
      {"infill", [&](const json& v) { r.infill = boolean(v, "infill"); }},
      {"stream_steps", [&](const json& v) { r.stream_steps = boolean(v, "stream_steps"); }},
  };
  for (const auto& [key, value] : j.items()) {
    const auto it = fields.find(key);
    if (it == fields.end()) {
      std::string valid;
      for (const auto& f : fields) valid += (valid.empty() ? "" : ", ") + f.first;
      bad(key, "unknown field '" + key.substr(0, 64) + "' (valid: " + valid + ")");
    }
    it->second(value);
  }
  if (!has_prompt) bad("prompt", "'prompt' is required");
  if (r.max_tokens == 0 && !r.infill)
    bad("max_tokens", "'max_tokens' must be at least 1 (0 only with \"infill\": true, where the [MASK:n] spans are generated)");
  if (r.stream_steps && !r.stream) bad("stream_steps", "'stream_steps' streams frames: set \"stream\": true too");
  if (static_cast<std::int64_t>(r.prompts.size()) * r.n > limits.max_n)
    bad("n", "n × prompts = " + std::to_string(static_cast<std::int64_t>(r.prompts.size()) * r.n) +
                 " choices exceeds this server's limit of " + std::to_string(limits.max_n));
  return r;
}

}  // namespace unmask::serve
