// Corpus formats and UTF-8 handling for tokenizer training and data prepare.
#include "unmask/util/corpus_reader.h"

#include <fmt/format.h>
#include <utf8.h>

#include <nlohmann/json.hpp>

#include "unmask/util/error.h"
#include "unmask/util/fs.h"

namespace unmask {

CorpusFormat parse_corpus_format(const std::string& name) {
  if (name == "lines") return CorpusFormat::Lines;
  if (name == "docs") return CorpusFormat::Docs;
  if (name == "jsonl") return CorpusFormat::Jsonl;
  throw Error("unknown corpus format '" + name + "' (valid: lines, docs, jsonl)");
}

DocSeparator parse_doc_separator(const std::string& name) {
  if (name == "both") return DocSeparator::Both;
  if (name == "blank") return DocSeparator::Blank;
  if (name == "percent") return DocSeparator::Percent;
  throw Error("unknown document separator '" + name + "' (valid: both, blank, percent)");
}

Utf8Policy parse_utf8_policy(const std::string& name) {
  if (name == "error") return Utf8Policy::Error;
  if (name == "replace") return Utf8Policy::Replace;
  if (name == "skip") return Utf8Policy::Skip;
  throw Error("unknown --on-invalid-utf8 policy '" + name + "' (valid: error, replace, skip)");
}

CorpusReader::CorpusReader(std::vector<std::filesystem::path> files, CorpusOptions options)
    : files_(std::move(files)), options_(std::move(options)), buffer_(1 << 20) {
  if (files_.empty()) throw Error("no input files given");
  for (const auto& f : files_) {
    require_readable_file(f, "input file");
    total_bytes_ += std::filesystem::file_size(f);
  }
}

CorpusReader::Read CorpusReader::read_line(std::string& line) {
  if (!open_) {
    if (file_index_ >= files_.size()) return Read::End;
    in_ = std::ifstream();
    in_.rdbuf()->pubsetbuf(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    in_.open(files_[file_index_], std::ios::binary);
    if (!in_) throw Error("cannot read input file " + files_[file_index_].string());
    open_ = true;
    offset_ = 0;
    line_number_ = 0;
  }
  if (std::getline(in_, line)) {
    line_offset_ = offset_;
    const std::uint64_t consumed = line.size() + (in_.eof() ? 0 : 1);
    offset_ += consumed;
    stats_.bytes += consumed;
    ++line_number_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return Read::Line;
  }
  if (in_.bad()) throw Error("error while reading " + files_[file_index_].string());
  open_ = false;
  ++file_index_;
  return Read::FileEnd;
}

bool CorpusReader::clean_utf8(std::string& line) {
  const auto bad = utf8::find_invalid(line.begin(), line.end());
  if (bad == line.end()) return true;
  switch (options_.utf8) {
    case Utf8Policy::Error:
      throw Error(fmt::format("{}: invalid UTF-8 at byte offset {} (line {}); pass --on-invalid-utf8 replace or "
                              "skip to continue past it",
                              files_[file_index_].string(), line_offset_ + (bad - line.begin()), line_number_));
    case Utf8Policy::Replace: {
      std::string fixed;
      fixed.reserve(line.size() + 8);
      utf8::replace_invalid(line.begin(), line.end(), std::back_inserter(fixed));
      line.swap(fixed);
      ++stats_.invalid_utf8_repaired;
      return true;
    }
    case Utf8Policy::Skip:
      return false;
  }
  return true;
}

bool CorpusReader::is_separator(const std::string& line) const {
  const bool blank = line.find_first_not_of(" \t") == std::string::npos;
  switch (options_.separator) {
    case DocSeparator::Blank: return blank;
    case DocSeparator::Percent: return line == "%";
    case DocSeparator::Both: return blank || line == "%";
  }
  return false;
}

bool CorpusReader::next_line_example(std::string& text) {
  for (Read r; (r = read_line(text)) != Read::End;) {
    if (r == Read::FileEnd || text.find_first_not_of(" \t") == std::string::npos) continue;
    if (!clean_utf8(text)) {
      ++stats_.invalid_utf8_skipped;
      continue;
    }
    return true;
  }
  return false;
}

// A document ends at a separator line, at the end of its file, or at the end
// of the input; its lines are joined with '\n'.
bool CorpusReader::next_doc_example(std::string& text) {
  text.clear();
  std::string line;
  bool has_content = false, drop = false;
  while (true) {
    const Read r = read_line(line);
    if (r == Read::Line && !is_separator(line)) {
      if (!clean_utf8(line)) drop = true;
      if (has_content) text += '\n';
      text += line;
      has_content = true;
      continue;
    }
    if (has_content) {
      if (!drop) return true;
      ++stats_.invalid_utf8_skipped;
      text.clear();
      has_content = drop = false;
    }
    if (r == Read::End) return false;
  }
}

bool CorpusReader::next_jsonl_example(std::string& text) {
  std::string line;
  for (Read r; (r = read_line(line)) != Read::End;) {
    if (r == Read::FileEnd || line.find_first_not_of(" \t") == std::string::npos) continue;
    if (!clean_utf8(line)) {
      ++stats_.invalid_utf8_skipped;
      continue;
    }
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw Error(fmt::format("{}:{}: invalid JSON line ({})", files_[file_index_].string(), line_number_, e.what()));
    }
    const auto it = record.is_object() ? record.find(options_.text_field) : record.end();
    if (!record.is_object() || it == record.end() || !it->is_string())
      throw Error(fmt::format("{}:{}: JSONL record has no string field '{}' (choose the field with --text-field)",
                              files_[file_index_].string(), line_number_, options_.text_field));
    text = it->get<std::string>();
    if (text.find_first_not_of(" \t\n") == std::string::npos) continue;
    return true;
  }
  return false;
}

bool CorpusReader::next(std::string& text) {
  bool got = false;
  switch (options_.format) {
    case CorpusFormat::Lines: got = next_line_example(text); break;
    case CorpusFormat::Docs: got = next_doc_example(text); break;
    case CorpusFormat::Jsonl: got = next_jsonl_example(text); break;
  }
  if (got) ++stats_.examples;
  return got;
}

}  // namespace unmask
