// Reading HF tokenizer.json files (internal, shared by the WordPiece and BPE
// readers): the document checks every reader starts with, and the small
// accessors for typed fields with errors that name the file.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "unmask/util/error.h"

namespace unmask::hf_json {

using nlohmann::json;

// Parsed document; Error for invalid JSON, a missing 'model' or a version
// other than "1.0".
inline json parse_tokenizer_json(const std::string& text, const std::string& where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(where + ": invalid JSON (" + e.what() + ")");
  }
  if (!j.is_object() || !j.contains("model")) throw Error(where + ": not an HF tokenizer.json (no 'model')");
  if (!j.contains("version") || j["version"] != "1.0")
    throw Error(where + ": unsupported tokenizer.json version (need \"1.0\")");
  return j;
}

// The "type" of a component, "" when absent.
inline std::string type_of(const json& j) {
  return j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>() : "";
}

// A boolean field; absent or null gives `fallback`.
inline bool flag(const json& j, const char* key, bool fallback, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean()) throw Error(where + ": '" + key + "' must be true or false");
  return j[key].get<bool>();
}

// A boolean field that must be present.
inline bool required_flag(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || !j[key].is_boolean()) throw Error(where + ": '" + key + "' must be true or false");
  return j[key].get<bool>();
}

}  // namespace unmask::hf_json
