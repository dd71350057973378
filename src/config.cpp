// Merging and validation of the config tree: defaults → files → --set.
#include "unmask/config.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>

#include "unmask/util/error.h"
#include "unmask/util/fs.h"
#include "unmask/util/text.h"

namespace unmask {
namespace {

const ConfigKey* find_key(const std::string& path) {
  for (const auto& key : config_keys())
    if (key.path == path) return &key;
  return nullptr;
}

const std::set<std::string>& section_paths() {
  static const std::set<std::string> sections = [] {
    std::set<std::string> out;
    for (const auto& key : config_keys()) {
      const auto dot = key.path.rfind('.');
      if (dot != std::string::npos) out.insert(key.path.substr(0, dot));
    }
    return out;
  }();
  return sections;
}

std::vector<std::string> all_paths() {
  std::vector<std::string> out(section_paths().begin(), section_paths().end());
  for (const auto& key : config_keys()) out.push_back(key.path);
  return out;
}

std::string unknown_key_message(const std::string& origin, const std::string& path) {
  std::string msg = origin + ": unknown config key '" + path + "'";
  const std::string suggestion = nearest(path, all_paths());
  if (!suggestion.empty()) return msg + " (did you mean '" + suggestion + "'?)";
  const auto dot = path.rfind('.');
  const std::string parent = dot == std::string::npos ? "" : path.substr(0, dot);
  std::vector<std::string> siblings;
  for (const auto& key : config_keys()) {
    const auto kd = key.path.rfind('.');
    if ((kd == std::string::npos ? "" : key.path.substr(0, kd)) == parent) siblings.push_back(key.path);
  }
  if (parent.empty())
    for (const auto& s : section_paths()) siblings.push_back(s);
  return msg + " (valid here: " + join(siblings, ", ") + ")";
}

std::string a_kind(ConfigKey::Kind kind) {
  return (kind == ConfigKey::Kind::Int ? "an " : "a ") + std::string(kind_name(kind));
}

void check_value(const ConfigKey& key, const Json& value, const std::string& origin) {
  bool ok = false;
  switch (key.kind) {
    case ConfigKey::Kind::Int: ok = value.is_number_integer(); break;
    case ConfigKey::Kind::Float: ok = value.is_number(); break;
    case ConfigKey::Kind::Bool: ok = value.is_boolean(); break;
    case ConfigKey::Kind::String: ok = value.is_string(); break;
  }
  if (!ok)
    throw Error(origin + ": " + key.path + " must be " + a_kind(key.kind) + ", got " + value.dump());
  if (key.kind == ConfigKey::Kind::Float && !std::isfinite(value.get<double>()))
    throw Error(origin + ": " + key.path + " must be finite");
  if (!key.choices.empty()) {
    const auto s = value.get<std::string>();
    for (const auto& c : key.choices)
      if (c == s) return;
    throw Error(origin + ": " + key.path + " = '" + s + "' is not valid (valid: " + join(key.choices, ", ") + ")");
  }
}

// Converts the text of `--set key=text` to the JSON value the key expects.
Json parse_override(const ConfigKey& key, const std::string& text, const std::string& origin) {
  auto bad = [&]() -> Error {
    return Error(origin + ": " + key.path + " must be " + a_kind(key.kind) + ", got '" + text + "'");
  };
  switch (key.kind) {
    case ConfigKey::Kind::Int: {
      errno = 0;
      char* end = nullptr;
      const long long v = std::strtoll(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || errno == ERANGE) throw bad();
      return Json(static_cast<std::int64_t>(v));
    }
    case ConfigKey::Kind::Float: {
      errno = 0;
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0' || errno == ERANGE) throw bad();
      return Json(v);
    }
    case ConfigKey::Kind::Bool:
      if (text == "true" || text == "1" || text == "yes" || text == "on") return Json(true);
      if (text == "false" || text == "0" || text == "no" || text == "off") return Json(false);
      throw bad();
    case ConfigKey::Kind::String:
      if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
        try {
          return Json::parse(text);
        } catch (const std::exception&) {
          throw bad();
        }
      }
      return Json(text);
  }
  throw bad();
}

}  // namespace

ConfigBuilder::ConfigBuilder() : resolved_(config_to_json(RunConfig{})) {}

void ConfigBuilder::merge_into(Json& target, const Json& patch, const std::string& prefix,
                               const std::string& origin) {
  if (!patch.is_object())
    throw Error(origin + ": " + (prefix.empty() ? std::string("the top level") : "'" + prefix + "'") +
                " must be a JSON object, got " + patch.dump());
  for (const auto& [key, value] : patch.items()) {
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    if (section_paths().count(path)) {
      merge_into(target[key], value, path, origin);
    } else if (const ConfigKey* k = find_key(path)) {
      check_value(*k, value, origin);
      target[key] = k->kind == ConfigKey::Kind::Float ? Json(value.get<double>()) : value;
    } else {
      throw Error(unknown_key_message(origin, path));
    }
  }
}

void ConfigBuilder::merge_json(const Json& patch, const std::string& origin) {
  Json next = resolved_;  // a failed merge leaves the builder unchanged
  merge_into(next, patch, "", origin);
  resolved_ = std::move(next);
}

void ConfigBuilder::merge_file(const std::string& path) {
  const std::string text = read_file(path);
  Json patch;
  try {
    patch = Json::parse(text);
  } catch (const Json::exception& e) {  // parse errors, and numbers out of range (found by fuzz_config)
    std::string what = e.what();
    auto pos = what.find("parse error");
    if (pos == std::string::npos) pos = what.find("number overflow");
    throw Error(path + ": invalid JSON: " + (pos == std::string::npos ? what : what.substr(pos)));
  }
  merge_json(patch, path);
}

void ConfigBuilder::set(const std::string& assignment) {
  const std::string origin = "--set " + assignment;
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error("--set expects key=value (for example --set train.lr=1e-4), got '" + assignment + "'");
  const std::string path = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  Json value;
  if (section_paths().count(path)) {
    try {
      value = Json::parse(text);
    } catch (const std::exception&) {
      throw Error(origin + ": '" + path + "' is a section and takes a JSON object");
    }
  } else if (const ConfigKey* key = find_key(path)) {
    value = parse_override(*key, text, origin);
  } else {
    throw Error(unknown_key_message(origin, path));
  }
  // Build {"a": {"b": value}} and merge it like a file.
  Json patch = value;
  std::string rest = path;
  for (auto dot = rest.rfind('.'); ; dot = rest.rfind('.')) {
    const std::string leaf = dot == std::string::npos ? rest : rest.substr(dot + 1);
    Json wrapped = Json::object();
    wrapped[leaf] = patch;
    patch = std::move(wrapped);
    if (dot == std::string::npos) break;
    rest = rest.substr(0, dot);
  }
  merge_json(patch, origin);
}

RunConfig load_config(const std::vector<std::string>& files, const std::vector<std::string>& overrides,
                      Json* resolved) {
  ConfigBuilder builder;
  for (const auto& f : files) builder.merge_file(f);
  for (const auto& o : overrides) builder.set(o);
  if (resolved) *resolved = builder.json();
  return builder.build();
}

}  // namespace unmask
