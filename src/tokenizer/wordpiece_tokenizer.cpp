// WordPiece as HF `tokenizers` runs it (wordpiece_tokenizer.h): the pipeline
// of tokenizer/mod.rs encode (added tokens, normalizer, pre-tokenizer, model)
// with BertNormalizer (normalizers/bert.rs), BertPreTokenizer
// (pre_tokenizers/bert.rs), WordPiece (models/wordpiece/mod.rs) and its
// decoder (decoders/wordpiece.rs).
#include "unmask/tokenizer/wordpiece_tokenizer.h"

#include <utf8.h>

#include <algorithm>
#include <iterator>

#include "bert_unicode.h"
#include "unmask/util/error.h"
#include "wordpiece_config.h"

namespace unmask {
namespace {

void append_utf8(std::string& out, char32_t c) { utf8::append(static_cast<std::uint32_t>(c), std::back_inserter(out)); }

// The code points of a text; an invalid byte sequence becomes U+FFFD, which
// clean_text drops (the corpus readers hand over valid UTF-8 already).
std::u32string decode_utf8(const std::string& s) {
  std::u32string out;
  if (utf8::is_valid(s.begin(), s.end())) {
    utf8::utf8to32(s.begin(), s.end(), std::back_inserter(out));
  } else {
    std::string fixed;
    utf8::replace_invalid(s.begin(), s.end(), std::back_inserter(fixed));
    utf8::utf8to32(fixed.begin(), fixed.end(), std::back_inserter(out));
  }
  return out;
}

bool is_chinese(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// WordPiece decoder cleanup, applied to each token (decoders/wordpiece.rs).
std::string cleanup(std::string token) {
  static const std::pair<const char*, const char*> rules[] = {
      {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
      {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : rules) {
    const std::string f(from), t(to);
    for (std::size_t pos = 0; (pos = token.find(f, pos)) != std::string::npos; pos += t.size())
      token.replace(pos, f.size(), t);
  }
  return token;
}

}  // namespace

struct WordPieceTokenizer::Impl {
  WordPieceConfig config;
  std::unordered_map<std::string, int> vocab;  // model vocabulary
  std::vector<std::string> id_to_token;        // model and added tokens by id ("" = none)
  std::vector<bool> special_id;                // added tokens marked special

  // BertNormalizer on one piece of text → code points.
  std::u32string normalize(const std::string& text) const {
    const auto& n = config.normalizer;
    std::u32string s = decode_utf8(text);
    if (!n.present) return s;
    std::u32string t;
    t.reserve(s.size());
    if (n.clean_text) {
      for (char32_t c : s) {
        const auto k = bert_unicode::clean_class(c);
        if (k == bert_unicode::Clean::keep) t.push_back(c);
        else if (k == bert_unicode::Clean::space) t.push_back(U' ');
      }
      s.swap(t);
      t.clear();
    }
    if (n.handle_chinese_chars) {
      for (char32_t c : s) {
        if (is_chinese(c)) {
          t.push_back(U' ');
          t.push_back(c);
          t.push_back(U' ');
        } else {
          t.push_back(c);
        }
      }
      s.swap(t);
      t.clear();
    }
    if (n.strip_accents) {
      for (char32_t c : s)
        if (!bert_unicode::strip_accents(c, t)) t.push_back(c);
      s.swap(t);
      t.clear();
    }
    if (n.lowercase) {
      for (char32_t c : s)
        if (!bert_unicode::lowercase(c, t)) t.push_back(c);
      s.swap(t);
    }
    return s;
  }

  // BertPreTokenizer: words split at whitespace (dropped) and punctuation (kept alone).
  std::vector<std::string> pre_tokenize(const std::u32string& s) const {
    std::vector<std::string> words;
    std::string word;
    auto flush = [&] {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    };
    for (char32_t c : s) {
      if (config.bert_pre_tokenizer && bert_unicode::is_whitespace(c)) {
        flush();
      } else if (config.bert_pre_tokenizer && bert_unicode::is_punctuation(c)) {
        flush();
        append_utf8(word, c);
        flush();
      } else {
        append_utf8(word, c);
      }
    }
    flush();
    return words;
  }

  // Greedy longest match from the left; a word it cannot cover is one [UNK].
  void word_piece(const std::string& word, std::vector<int>& ids) const {
    std::vector<std::size_t> starts;  // byte offset of each character
    for (std::size_t i = 0; i < word.size(); ++i)
      if ((static_cast<unsigned char>(word[i]) & 0xC0) != 0x80) starts.push_back(i);
    if (starts.size() > static_cast<std::size_t>(config.max_input_chars_per_word)) {
      ids.push_back(config.unk_id);
      return;
    }
    starts.push_back(word.size());
    const std::size_t before = ids.size();
    for (std::size_t a = 0; a + 1 < starts.size();) {
      std::size_t b = starts.size() - 1;
      int found = -1;
      for (; b > a; --b) {
        std::string piece = word.substr(starts[a], starts[b] - starts[a]);
        if (a > 0) piece = config.prefix + piece;
        const auto it = vocab.find(piece);
        if (it != vocab.end()) {
          found = it->second;
          break;
        }
      }
      if (found < 0) {
        ids.resize(before);
        ids.push_back(config.unk_id);
        return;
      }
      ids.push_back(found);
      a = b;
    }
  }

  void encode_piece(const std::string& text, std::vector<int>& ids) const {
    for (const auto& word : pre_tokenize(normalize(text))) word_piece(word, ids);
  }
};

WordPieceTokenizer::WordPieceTokenizer(const std::string& json, const std::string& where,
                                       const std::filesystem::path& dir, const std::string& fingerprint)
    : impl_(std::make_unique<Impl>()), json_(json) {
  dir_ = dir;
  fingerprint_ = fingerprint;
  Impl& m = *impl_;
  m.config = parse_wordpiece_config(json, where, m.vocab);
  int size = 0;
  for (const auto& [piece, id] : m.vocab) size = std::max(size, id + 1);
  for (const auto& a : m.config.added) size = std::max(size, a.id + 1);
  m.id_to_token.assign(static_cast<std::size_t>(size), "");
  m.special_id.assign(static_cast<std::size_t>(size), false);
  for (const auto& [piece, id] : m.vocab) m.id_to_token[static_cast<std::size_t>(id)] = piece;
  for (const auto& a : m.config.added) {
    m.id_to_token[static_cast<std::size_t>(a.id)] = a.content;
    m.special_id[static_cast<std::size_t>(a.id)] = a.special;
  }
  special_ = m.config.special;
}

WordPieceTokenizer::~WordPieceTokenizer() = default;

std::vector<int> WordPieceTokenizer::encode(const std::string& text) const {
  const Impl& m = *impl_;
  std::vector<int> ids;
  // Added tokens split the raw text first: leftmost match, longest at a position.
  std::size_t done = 0;
  for (std::size_t i = 0; i < text.size();) {
    const AddedToken* best = nullptr;
    for (const auto& a : m.config.added)
      if (!a.content.empty() && text.compare(i, a.content.size(), a.content) == 0 &&
          (!best || a.content.size() > best->content.size()))
        best = &a;
    if (!best) {
      ++i;
      continue;
    }
    std::size_t start = i, stop = i + best->content.size();
    if (best->lstrip)
      while (start > done && bert_unicode::is_whitespace(static_cast<unsigned char>(text[start - 1]))) --start;
    if (best->rstrip)
      while (stop < text.size() && bert_unicode::is_whitespace(static_cast<unsigned char>(text[stop]))) ++stop;
    m.encode_piece(text.substr(done, start - done), ids);
    ids.push_back(best->id);
    done = i = stop;
  }
  m.encode_piece(text.substr(done), ids);
  return ids;
}

std::string WordPieceTokenizer::decode(const std::vector<int>& ids) const {
  const Impl& m = *impl_;
  std::vector<std::string> tokens;
  for (int id : ids) {
    if (id < 0 || id >= static_cast<int>(m.id_to_token.size()))
      throw Error("token id " + std::to_string(id) + " is outside the vocabulary (size " +
                  std::to_string(m.id_to_token.size()) + ")");
    if (m.special_id[static_cast<std::size_t>(id)] || m.id_to_token[static_cast<std::size_t>(id)].empty()) continue;
    tokens.push_back(m.id_to_token[static_cast<std::size_t>(id)]);
  }
  std::string text;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    std::string token = tokens[i];
    if (!m.config.decoder) {
      text += (i ? " " : "") + token;
      continue;
    }
    if (i != 0) {
      const std::string& p = m.config.decoder_prefix;
      token = token.compare(0, p.size(), p) == 0 ? token.substr(p.size()) : " " + token;
    }
    text += m.config.decoder_cleanup ? cleanup(token) : token;
  }
  return text;
}

int WordPieceTokenizer::vocab_size() const { return static_cast<int>(impl_->id_to_token.size()); }

std::string WordPieceTokenizer::piece(int id) const {
  if (id < 0 || id >= vocab_size()) throw Error("token id " + std::to_string(id) + " is outside the vocabulary");
  return impl_->id_to_token[static_cast<std::size_t>(id)];
}

}  // namespace unmask
