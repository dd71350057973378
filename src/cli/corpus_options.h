// CLI options shared by the commands that read raw corpora.
#pragma once

#include <memory>
#include <string>

#include "commands.h"
#include "unmask/util/corpus_reader.h"

namespace unmask::cli {

struct CorpusArgs {
  std::vector<std::string> inputs;
  std::string format = "lines", separator = "both", text_field = "text", utf8 = "replace";

  void add_to(CLI::App* command) {
    command->add_option("--input", inputs, "corpus files (read in the order given)")->required()->expected(1, -1);
    command->add_option("--format", format, "lines | docs | jsonl")->capture_default_str();
    command->add_option("--doc-separator", separator, "docs format: what ends a document: both | blank | percent")
        ->capture_default_str();
    command->add_option("--text-field", text_field, "jsonl format: the field holding the text")->capture_default_str();
    command->add_option("--on-invalid-utf8", utf8, "error | replace (U+FFFD) | skip the example")
        ->capture_default_str();
  }
  CorpusOptions options() const {
    CorpusOptions o;
    o.format = parse_corpus_format(format);
    o.separator = parse_doc_separator(separator);
    o.utf8 = parse_utf8_policy(utf8);
    o.text_field = text_field;
    return o;
  }
};

}  // namespace unmask::cli
