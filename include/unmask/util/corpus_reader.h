// Streams examples out of raw corpus files, one at a time, in one of three
// formats: `lines` (one example per line), `docs` (documents separated by
// blank lines and/or `%` lines, as in fortune files), `jsonl` (a string field,
// `text` by default). Invalid UTF-8 is reported with file and byte offset, or
// repaired (U+FFFD, via utfcpp) or skipped, as the policy says, and counted.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace unmask {

enum class CorpusFormat { Lines, Docs, Jsonl };
enum class DocSeparator { Both, Blank, Percent };  // what ends a document in `docs`
enum class Utf8Policy { Error, Replace, Skip };

CorpusFormat parse_corpus_format(const std::string& name);   // lines | docs | jsonl
DocSeparator parse_doc_separator(const std::string& name);   // both | blank | percent
Utf8Policy parse_utf8_policy(const std::string& name);       // error | replace | skip

struct CorpusOptions {
  CorpusFormat format = CorpusFormat::Lines;
  DocSeparator separator = DocSeparator::Both;
  Utf8Policy utf8 = Utf8Policy::Replace;
  std::string text_field = "text";
};

struct CorpusStats {
  std::uint64_t examples = 0;        // examples returned
  std::uint64_t bytes = 0;           // input bytes consumed
  std::uint64_t invalid_utf8_repaired = 0;  // lines repaired (replace)
  std::uint64_t invalid_utf8_skipped = 0;   // examples dropped (skip)
};

class CorpusReader {
 public:
  // Checks every file up front (exists, regular, readable).
  CorpusReader(std::vector<std::filesystem::path> files, CorpusOptions options);

  // The next example's text; false at the end of the last file.
  bool next(std::string& text);

  const CorpusStats& stats() const { return stats_; }
  std::uint64_t total_bytes() const { return total_bytes_; }

 private:
  enum class Read { Line, FileEnd, End };
  Read read_line(std::string& line);     // FileEnd once after each file
  bool clean_utf8(std::string& line);    // false: drop this line's example (skip policy)
  bool next_line_example(std::string& text);
  bool next_doc_example(std::string& text);
  bool next_jsonl_example(std::string& text);
  bool is_separator(const std::string& line) const;

  std::vector<std::filesystem::path> files_;
  CorpusOptions options_;
  CorpusStats stats_;
  std::uint64_t total_bytes_ = 0;
  std::size_t file_index_ = 0;
  std::ifstream in_;
  bool open_ = false;
  std::uint64_t offset_ = 0;       // byte offset of the next line in the current file
  std::uint64_t line_offset_ = 0;  // byte offset of the line just read
  std::uint64_t line_number_ = 0;  // 1-based, in the current file
  std::vector<char> buffer_;
};

}  // namespace unmask
