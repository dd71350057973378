// HF tokenizer.json (tokenizers' serialization.rs layout) → WordPieceConfig,
// and the tokenizer.json that BertTokenizerFast builds from a vocab.txt.
#include "wordpiece_config.h"

#include "hf_json.h"

#include <nlohmann/json.hpp>

#include <limits>

#include "unmask/tokenizer/wordpiece_tokenizer.h"
#include "unmask/util/error.h"
#include "unmask/util/json_number.h"

namespace unmask {
namespace {

using nlohmann::json;
using hf_json::type_of;

bool flag(const json& j, const char* key, const std::string& where) { return hf_json::required_flag(j, key, where); }

int token_id(const json& v, const std::string& what, const std::string& where) {
  const auto id = exact_integer<int>(v);
  if (!id || *id < 0) throw Error(where + ": " + what + " must be an integer id >= 0");
  return *id;
}

}  // namespace

WordPieceConfig parse_wordpiece_config(const std::string& text, const std::string& where,
                                       std::unordered_map<std::string, int>& vocab) {
  json j = hf_json::parse_tokenizer_json(text, where);
  const json& model = j["model"];
  const std::string model_type = type_of(model);
  if (model_type != "WordPiece")
    throw Error(where + ": tokenizer model '" + model_type + "' is not supported yet (supported: WordPiece)");
  WordPieceConfig c;
  if (!model.contains("vocab") || !model["vocab"].is_object()) throw Error(where + ": the WordPiece model has no 'vocab' object");
  vocab.clear();
  for (const auto& [piece, id] : model["vocab"].items()) vocab[piece] = token_id(id, "vocab entry '" + piece + "'", where);
  if (!model.contains("unk_token") || !model["unk_token"].is_string()) throw Error(where + ": the WordPiece model needs 'unk_token'");
  const std::string unk = model["unk_token"];
  if (!vocab.count(unk)) throw Error(where + ": the unk_token '" + unk + "' is not in the vocabulary");
  c.unk_id = vocab[unk];
  if (model.contains("continuing_subword_prefix") && model["continuing_subword_prefix"].is_string())
    c.prefix = model["continuing_subword_prefix"];
  if (model.contains("max_input_chars_per_word"))
    c.max_input_chars_per_word = token_id(model["max_input_chars_per_word"], "max_input_chars_per_word", where);

  const json norm = j.value("normalizer", json());
  if (!norm.is_null()) {
    if (type_of(norm) != "BertNormalizer")
      throw Error(where + ": normalizer '" + type_of(norm) + "' is not supported with WordPiece (supported: BertNormalizer)");
    c.normalizer.present = true;
    c.normalizer.clean_text = flag(norm, "clean_text", where);
    c.normalizer.handle_chinese_chars = flag(norm, "handle_chinese_chars", where);
    c.normalizer.lowercase = flag(norm, "lowercase", where);
    // strip_accents: null follows lowercase (normalizers/bert.rs).
    c.normalizer.strip_accents = norm.value("strip_accents", json()).is_null() ? c.normalizer.lowercase
                                                                                : flag(norm, "strip_accents", where);
  }
  const json pre = j.value("pre_tokenizer", json());
  if (!pre.is_null() && type_of(pre) != "BertPreTokenizer")
    throw Error(where + ": pre-tokenizer '" + type_of(pre) + "' is not supported with WordPiece (supported: BertPreTokenizer)");
  c.bert_pre_tokenizer = !pre.is_null();
  const json dec = j.value("decoder", json());
  if (!dec.is_null()) {
    if (type_of(dec) != "WordPiece")
      throw Error(where + ": decoder '" + type_of(dec) + "' is not supported with WordPiece (supported: WordPiece)");
    c.decoder = true;
    c.decoder_prefix = dec.value("prefix", std::string("##"));
    c.decoder_cleanup = dec.value("cleanup", true);
  }

  // Added tokens: the id is the vocabulary's when the content is in it, else
  // the next free one after the vocabulary (added_vocabulary.rs); the id
  // written in the file is not used.
  int next = static_cast<int>(vocab.size());
  for (const auto& a : j.value("added_tokens", json::array())) {
    if (!a.is_object() || !a.contains("content") || !a["content"].is_string())
      throw Error(where + ": every added token needs a string 'content'");
    AddedToken t;
    t.content = a["content"];
    if (flag(a, "normalized", where))
      throw Error(where + ": added token '" + t.content + "' is matched after normalisation, which unmask does not support yet");
    if (flag(a, "single_word", where))
      throw Error(where + ": added token '" + t.content + "' is single_word, which unmask does not support yet");
    t.lstrip = flag(a, "lstrip", where);
    t.rstrip = flag(a, "rstrip", where);
    t.special = flag(a, "special", where);
    const auto it = vocab.find(t.content);
    t.id = it != vocab.end() ? it->second : next++;
    c.added.push_back(t);
  }

  auto id_of = [&](const std::string& content) {
    for (const auto& a : c.added)
      if (a.content == content) return a.id;
    const auto it = vocab.find(content);
    if (it == vocab.end())
      throw Error(where + ": no '" + content + "' token; unmask needs a pad, unk, [CLS] (BOS), [SEP] (EOS) and [MASK] token");
    return it->second;
  };
  std::string cls = "[CLS]", sep = "[SEP]", pad = "[PAD]";
  const json post = j.value("post_processor", json());
  try {
    if (type_of(post) == "BertProcessing" || type_of(post) == "RobertaProcessing") {
      cls = post.at("cls").at(0).get<std::string>();
      sep = post.at("sep").at(0).get<std::string>();
    } else if (type_of(post) == "TemplateProcessing" && post.contains("single") && post["single"].is_array()) {
      std::vector<std::string> specials;
      for (const auto& piece : post["single"])
        if (piece.is_object() && piece.contains("SpecialToken"))
          specials.push_back(piece["SpecialToken"].at("id").get<std::string>());
      if (specials.size() == 2) {
        cls = specials[0];
        sep = specials[1];
      }
    }
  } catch (const json::exception& e) {
    throw Error(where + ": post_processor '" + type_of(post) + "' is malformed (" + e.what() +
                "); it should name its special tokens as HF writes them, e.g. \"cls\": [\"[CLS]\", 101]");
  }
  const json padding = j.value("padding", json());
  if (padding.is_object() && padding.contains("pad_token") && padding["pad_token"].is_string()) pad = padding["pad_token"];
  c.special.pad = id_of(pad);
  c.special.unk = c.unk_id;
  c.special.bos = id_of(cls);
  c.special.eos = id_of(sep);
  c.special.mask = id_of("[MASK]");
  return c;
}

std::string wordpiece_json_from_vocab(const std::string& vocab_txt, const std::string& config_text,
                                      const std::string& where) {
  json config = json::object();
  if (!config_text.empty()) {
    try {
      config = json::parse(config_text);
    } catch (const json::exception& e) {
      throw Error(where + ": tokenizer_config.json is invalid JSON (" + e.what() + ")");
    }
  }
  // transformers' load_vocab: one token per line ("\n", "\r\n" or "\r"), only the line break removed.
  json vocab = json::object();
  int id = 0;
  std::string line;
  for (std::size_t i = 0; i <= vocab_txt.size(); ++i) {
    const bool end = i == vocab_txt.size();
    if (end || vocab_txt[i] == '\n' || vocab_txt[i] == '\r') {
      if (!end || !line.empty()) vocab[line] = id++;
      line.clear();
      if (!end && vocab_txt[i] == '\r' && i + 1 < vocab_txt.size() && vocab_txt[i + 1] == '\n') ++i;
      continue;
    }
    line.push_back(vocab_txt[i]);
  }
  if (id == 0) throw Error(where + ": vocab.txt is empty");
  auto setting = [&](const char* key, const json& fallback) { return config.contains(key) ? config[key] : fallback; };
  const bool lower = setting("do_lower_case", true).get<bool>();
  json added = json::array();
  for (const auto& [key, fallback] : {std::pair{"pad_token", "[PAD]"}, {"unk_token", "[UNK]"}, {"cls_token", "[CLS]"},
                                      {"sep_token", "[SEP]"}, {"mask_token", "[MASK]"}}) {
    const std::string content = setting(key, fallback).get<std::string>();
    if (!vocab.contains(content)) continue;
    added.push_back({{"id", vocab[content]}, {"content", content}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
  }
  const json out = {
      {"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}, {"added_tokens", added},
      {"normalizer", {{"type", "BertNormalizer"}, {"clean_text", true},
                      {"handle_chinese_chars", setting("tokenize_chinese_chars", true)},
                      {"strip_accents", setting("strip_accents", nullptr)}, {"lowercase", lower}}},
      {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
      {"post_processor", {{"type", "BertProcessing"},
                          {"sep", {setting("sep_token", "[SEP]"), 0}}, {"cls", {setting("cls_token", "[CLS]"), 0}}}},
      {"decoder", {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}}},
      {"model", {{"type", "WordPiece"}, {"unk_token", setting("unk_token", "[UNK]")},
                 {"continuing_subword_prefix", "##"}, {"max_input_chars_per_word", 100}, {"vocab", vocab}}}};
  return out.dump() + "\n";
}

}  // namespace unmask
