// The character classes and per-code-point mappings of HF `tokenizers`'
// BertNormalizer and BertPreTokenizer (internal to the WordPiece tokenizer),
// as the reference has them: Unicode 8.0 categories, Unicode 9.0
// decompositions, the Rust standard library's lowercase. The tables are
// generated from the reference by scripts/dev/bert_unicode_tables.py.
#pragma once

#include <string>

namespace unmask::bert_unicode {

// clean_text: dropped (NUL, U+FFFD, control/format/private-use characters but
// \t \n \r), mapped to a space (White_Space), or kept.
enum class Clean { keep, drop, space };
Clean clean_class(char32_t c);
// BertPreTokenizer: punctuation (ASCII punctuation or Unicode P*) is isolated;
// whitespace splits and is dropped.
bool is_punctuation(char32_t c);
bool is_whitespace(char32_t c);
// strip_accents (NFD, nonspacing marks removed) and lowercase of one code
// point: append the result to `out` and return true, or false when unchanged.
bool strip_accents(char32_t c, std::u32string& out);
bool lowercase(char32_t c, std::u32string& out);

}  // namespace unmask::bert_unicode
