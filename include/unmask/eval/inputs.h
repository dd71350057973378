// Text inputs of `unmask eval`: plain files (one segment per line) and the
// JSONL sample files written by `unmask sample --out` (a `text` field per
// line). Bad input is an Error naming the file and line.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace unmask {

// The lines of a text file, as Python's readlines() sees them: split at '\n',
// a final '\n' adds no empty line, '\r' is kept (the BLEU tokenizers strip it
// like Python's rstrip/strip). Invalid UTF-8 is an error. `what` names the
// file in messages ("hypothesis file").
std::vector<std::string> read_text_lines(const std::filesystem::path& path, const std::string& what);

// True when `path` is read as JSONL: its name ends in `.jsonl`, or its first
// non-empty line is a JSON object with a string field `text`.
bool is_sample_jsonl(const std::filesystem::path& path);

// Hypotheses for BLEU: the `text` field of every non-empty line of a JSONL
// sample file (see is_sample_jsonl), otherwise every line of a plain file.
// A file without any hypothesis is an error.
std::vector<std::string> read_hypotheses(const std::filesystem::path& path);

}  // namespace unmask
