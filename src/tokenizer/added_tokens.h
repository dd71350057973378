// HF added tokens (internal): special tokens such as [MASK], <mask> or
// <|endoftext|> that HF `tokenizers` finds in the raw text before anything
// else runs (tokenizer/added_vocabulary.rs), with their lstrip/rstrip flags,
// and the split of a text around them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace unmask {

struct AddedToken {
  int id = 0;
  std::string content;
  bool special = false, lstrip = false, rstrip = false, normalized = false;
};

// A piece of a text: an added token (id >= 0) or text between them (id -1).
struct AddedSplit {
  std::size_t begin = 0, end = 0;
  int id = -1;
};

// The text cut at the added tokens as AddedVocabulary::extract_and_normalize
// cuts it when there is no normalizer: first the tokens with normalized false,
// then, inside what is left, those with normalized true; each pass takes the
// leftmost match, the longest at a position. lstrip/rstrip take the
// whitespace (Rust's char::is_whitespace) beside a match into it. Empty
// text pieces are left out. `text` must be valid UTF-8.
std::vector<AddedSplit> split_added_tokens(std::string_view text, const std::vector<AddedToken>& added);

}  // namespace unmask
