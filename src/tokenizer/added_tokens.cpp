// Splitting a text at HF added tokens (added_tokens.h), after
// AddedVocabulary::find_matches and split_with_indices in tokenizers'
// tokenizer/added_vocabulary.rs.
#include "added_tokens.h"

#include "byte_level.h"

namespace unmask {
namespace {

// One pass over text[begin, end) with the tokens whose `normalized` is `which`.
void split_pass(std::string_view text, std::size_t begin, std::size_t end, const std::vector<AddedToken>& added,
                bool which, std::vector<AddedSplit>& out) {
  bool first[256] = {};
  bool any = false;
  for (const auto& a : added)
    if (a.normalized == which && !a.content.empty()) any = first[static_cast<unsigned char>(a.content[0])] = true;
  std::size_t done = begin;
  for (std::size_t i = begin; any && i < end;) {
    const AddedToken* best = nullptr;
    if (first[static_cast<unsigned char>(text[i])])
      for (const auto& a : added)
        if (a.normalized == which && !a.content.empty() && a.content.size() <= end - i &&
            text.compare(i, a.content.size(), a.content) == 0 && (!best || a.content.size() > best->content.size()))
          best = &a;
    if (!best) {
      ++i;
      continue;
    }
    std::size_t start = i, stop = i + best->content.size();
    if (best->lstrip) {
      std::size_t prev = start;
      while (start > done && byte_level::is_whitespace(byte_level::prev_char(text, start, prev))) start = prev;
    }
    if (best->rstrip) {
      while (stop < end) {
        std::size_t next = stop;
        if (!byte_level::is_whitespace(byte_level::next_char(text, next))) break;
        stop = next;
      }
    }
    if (start > done) out.push_back({done, start, -1});
    out.push_back({start, stop, best->id});
    done = i = stop;
  }
  if (end > done) out.push_back({done, end, -1});
}

}  // namespace

std::vector<AddedSplit> split_added_tokens(std::string_view text, const std::vector<AddedToken>& added) {
  std::vector<AddedSplit> raw, out;
  split_pass(text, 0, text.size(), added, false, raw);
  for (const auto& s : raw) {
    if (s.id >= 0) out.push_back(s);
    else split_pass(text, s.begin, s.end, added, true, out);
  }
  return out;
}

}  // namespace unmask
