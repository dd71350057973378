// Reading hypothesis and reference files for `unmask eval`.
#include "unmask/eval/inputs.h"

#include <utf8.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "unmask/util/error.h"
#include "unmask/util/fs.h"

namespace unmask {
namespace {

std::vector<std::string> split_lines(const std::string& content) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < content.size()) {
    std::size_t end = content.find('\n', start);
    if (end == std::string::npos) end = content.size();
    lines.emplace_back(content, start, end - start);
    start = end + 1;
  }
  return lines;
}

// The `text` of one JSONL line, or false when the line is not such an object.
bool text_field(const std::string& line, std::string& text) {
  const auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("text") || !j["text"].is_string()) return false;
  text = j["text"].get<std::string>();
  return true;
}

}  // namespace

std::vector<std::string> read_text_lines(const std::filesystem::path& path, const std::string& what) {
  require_readable_file(path, what);
  std::vector<std::string> lines = split_lines(read_file(path));
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto bad = utf8::find_invalid(lines[i].begin(), lines[i].end());
    if (bad != lines[i].end())
      throw Error(what + " " + path.string() + ": line " + std::to_string(i + 1) + " is not valid UTF-8 (byte " +
                  std::to_string(bad - lines[i].begin() + 1) + "); BLEU compares text, re-encode the file as UTF-8");
  }
  return lines;
}

bool is_sample_jsonl(const std::filesystem::path& path) {
  if (path.extension() == ".jsonl") return true;
  require_readable_file(path, "hypothesis file");
  std::ifstream in(path, std::ios::binary);
  std::string line, text;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) return text_field(line, text);
  return false;
}

std::vector<std::string> read_hypotheses(const std::filesystem::path& path) {
  const bool jsonl = is_sample_jsonl(path);
  std::vector<std::string> lines = read_text_lines(path, "hypothesis file");
  if (!jsonl) {
    if (lines.empty()) throw Error("hypothesis file " + path.string() + " is empty (expected one hypothesis per line)");
    return lines;
  }
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string text;
    if (!text_field(lines[i], text))
      throw Error("hypothesis file " + path.string() + ": line " + std::to_string(i + 1) +
                  " is not a JSON object with a string field \"text\" (as written by 'unmask sample --out')");
    texts.push_back(std::move(text));
  }
  if (texts.empty()) throw Error("hypothesis file " + path.string() + " has no samples (expected JSONL lines with \"text\")");
  return texts;
}

}  // namespace unmask
