// vocab.json + merges.txt (+ tokenizer_config.json, special_tokens_map.json)
// → the tokenizer.json that transformers' GPT2TokenizerFast or
// RobertaTokenizerFast builds from them (convert_slow_tokenizer.py's
// GPT2Converter / RobertaConverter), so that unmask runs, stores and
// fingerprints one HF tokenizer.json whatever the files it came from.
#include <nlohmann/json.hpp>
#include <utf8.h>

#include <map>

#include "unmask/tokenizer/bpe_tokenizer.h"
#include "unmask/util/error.h"
#include "unmask/util/json_number.h"

namespace unmask {
namespace {

using nlohmann::ordered_json;

ordered_json parse_or_empty(const std::string& text, const std::string& name, const std::string& where) {
  if (text.empty()) return ordered_json::object();
  try {
    const auto j = ordered_json::parse(text);
    if (!j.is_object()) throw Error(where + "/" + name + ": not a JSON object");
    return j;
  } catch (const ordered_json::exception& e) {
    throw Error(where + "/" + name + ": invalid JSON (" + e.what() + ")");
  }
}

ordered_json added_token(int id, const std::string& content, bool lstrip) {
  return {{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", lstrip},
          {"rstrip", false}, {"normalized", false}, {"special", true}};
}

// merges.txt as tokenizers' BPE::read_file reads it: "#version" lines
// skipped, every other line two tokens separated by one space.
ordered_json read_merges(const std::string& text, const std::string& where) {
  ordered_json merges = ordered_json::array();
  std::size_t line_no = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.rfind("#version", 0) == 0) continue;
    if (!utf8::is_valid(line.begin(), line.end()))
      throw Error(where + "/merges.txt: line " + std::to_string(line_no) + " is not valid UTF-8");
    const auto space = line.find(' ');
    if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
      throw Error(where + "/merges.txt: line " + std::to_string(line_no) + " is not two tokens separated by one space");
    merges.push_back({line.substr(0, space), line.substr(space + 1)});
  }
  return merges;
}

std::string build_json(const std::string& vocab_text, const std::string& merges_txt, const std::string& config_text,
                       const std::string& map_text, const std::string& where) {
  ordered_json vocab;
  try {
    vocab = ordered_json::parse(vocab_text);
  } catch (const ordered_json::exception& e) {
    throw Error(where + "/vocab.json: invalid JSON (" + e.what() + ")");
  }
  if (!vocab.is_object() || vocab.empty()) throw Error(where + "/vocab.json: must be a non-empty object of token ids");
  const ordered_json config = parse_or_empty(config_text, "tokenizer_config.json", where);
  const ordered_json map = parse_or_empty(map_text, "special_tokens_map.json", where);
  auto id_of = [&](const std::string& token) {
    const auto id = vocab.contains(token) ? exact_integer<int>(vocab[token]) : std::nullopt;
    return id ? *id : -1;
  };
  const bool roberta = id_of("<s>") >= 0 && id_of("<pad>") >= 0 && id_of("</s>") >= 0 && id_of("<unk>") >= 0 &&
                       id_of("<mask>") >= 0;
  if (!roberta && id_of("<|endoftext|>") < 0)
    throw Error(where + "/vocab.json: neither RoBERTa's (<s> <pad> </s> <unk> <mask>) nor GPT-2's (<|endoftext|>) "
                "special tokens are in it");

  // Added tokens: tokenizer_config.json's added_tokens_decoder when present
  // (transformers >= 4.34 writes it), else the converter's defaults, with
  // the mask's lstrip from special_tokens_map.json when it says.
  ordered_json added = ordered_json::array();
  if (config.contains("added_tokens_decoder") && config["added_tokens_decoder"].is_object()) {
    std::map<int, ordered_json> by_id;
    for (const auto& [key, t] : config["added_tokens_decoder"].items()) {
      const bool number = !key.empty() && key.size() < 10 && key.find_first_not_of("0123456789") == std::string::npos;
      if (!number || !t.is_object() || !t.contains("content") || !t["content"].is_string())
        throw Error(where + "/tokenizer_config.json: added_tokens_decoder '" + key + "' needs an id and a string 'content'");
      ordered_json a = added_token(std::stoi(key), t["content"], t.value("lstrip", false));
      for (const char* flag : {"single_word", "rstrip", "normalized", "special"})
        if (t.contains(flag)) a[flag] = t[flag];
      by_id[std::stoi(key)] = a;
    }
    for (auto& [id, a] : by_id) added.push_back(a);
  } else if (roberta) {
    bool mask_lstrip = true;  // RobertaTokenizerFast's AddedToken("<mask>", lstrip=True), as roberta-base
    if (map.contains("mask_token") && map["mask_token"].is_object())
      mask_lstrip = map["mask_token"].value("lstrip", mask_lstrip);
    for (const std::string t : {"<s>", "<pad>", "</s>", "<unk>"}) added.push_back(added_token(id_of(t), t, false));
    added.push_back(added_token(id_of("<mask>"), "<mask>", mask_lstrip));
  } else {
    added.push_back(added_token(id_of("<|endoftext|>"), "<|endoftext|>", false));
  }

  const bool prefix = config.contains("add_prefix_space") && config["add_prefix_space"].is_boolean()
                          ? config["add_prefix_space"].get<bool>() : false;
  ordered_json post = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}};
  if (roberta)
    post = {{"type", "RobertaProcessing"}, {"sep", {"</s>", id_of("</s>")}}, {"cls", {"<s>", id_of("<s>")}},
            {"trim_offsets", true}, {"add_prefix_space", prefix}};
  const ordered_json out = {
      {"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}, {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", prefix}, {"trim_offsets", true}, {"use_regex", true}}},
      {"post_processor", post},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", ""},
                 {"end_of_word_suffix", ""}, {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", false},
                 {"vocab", vocab}, {"merges", read_merges(merges_txt, where)}}}};
  return out.dump() + "\n";
}

}  // namespace

std::string bpe_json_from_vocab(const std::string& vocab_text, const std::string& merges_txt,
                                const std::string& config_text, const std::string& map_text, const std::string& where) {
  try {
    return build_json(vocab_text, merges_txt, config_text, map_text, where);
  } catch (const ordered_json::exception& e) {  // a field of the wrong JSON type
    throw Error(where + ": malformed vocab.json, tokenizer_config.json or special_tokens_map.json (" + e.what() + ")");
  }
}

}  // namespace unmask
