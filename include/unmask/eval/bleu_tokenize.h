// The tokenizers BLEU counts n-grams over: sacrebleu's `13a` (mteval-v13a,
// sacrebleu/tokenizers/tokenizer_13a.py) and `none`, and DiffusionBERT's
// `space` (compute_metric.py: `line.strip().split(' ')`). Whitespace means
// Python's str.split()/strip() whitespace, so tokens match the Python tools.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace unmask {

enum class BleuTokenizer {
  k13a,   // sacrebleu default: rstrip, mteval-v13a rules, split on whitespace
  kNone,  // sacrebleu `none`: rstrip, split on whitespace
  kSpace  // DiffusionBERT: strip, split on ' ' (double spaces give empty tokens, as in Python)
};

BleuTokenizer parse_bleu_tokenizer(const std::string& name);  // 13a | none | space
const char* bleu_tokenizer_name(BleuTokenizer tokenizer);

// sacrebleu's Tokenizer13a on one segment: the tokenized line, tokens joined
// by single spaces (no leading or trailing space).
std::string tokenize_13a(std::string_view line);

// The tokens whose n-grams BLEU counts for one segment, as sacrebleu
// (`tokenizer(line.rstrip()).split()`) or DiffusionBERT would produce them.
std::vector<std::string> bleu_tokens(std::string_view line, BleuTokenizer tokenizer);

// Python's str.split() / str.rstrip() / str.strip() without arguments: the
// separators are the Unicode whitespace characters of str.isspace() (ASCII
// \t\n\v\f\r, \x1c-\x1f, space, U+0085, U+00A0, U+1680, U+2000-U+200A,
// U+2028, U+2029, U+202F, U+205F, U+3000), in UTF-8.
std::vector<std::string> split_whitespace(std::string_view text);
std::string_view rstrip_whitespace(std::string_view text);
std::string_view strip_whitespace(std::string_view text);

}  // namespace unmask
