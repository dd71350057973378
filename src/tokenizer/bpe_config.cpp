// HF tokenizer.json (tokenizers' serialization.rs layout) with a BPE model
// (models/bpe/serialization.rs) → BpeConfig.
#include "bpe_config.h"

#include "hf_json.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "unmask/util/error.h"
#include "unmask/util/json_number.h"

namespace unmask {
namespace {

using nlohmann::json;
using hf_json::flag;
using hf_json::type_of;

void parse_model(const json& model, const std::string& where, BpeConfig& c) {
  if (!model.contains("vocab") || !model["vocab"].is_object()) throw Error(where + ": the BPE model has no 'vocab' object");
  const std::size_t n = model["vocab"].size();
  c.tokens.assign(n, std::string());
  std::vector<bool> seen(n, false);
  for (const auto& [token, v] : model["vocab"].items()) {
    const auto id = exact_integer<int>(v);
    if (!id || *id < 0) throw Error(where + ": vocab entry '" + token + "' must be an integer id >= 0");
    if (static_cast<std::size_t>(*id) >= n || seen[static_cast<std::size_t>(*id)])
      throw Error(where + ": the BPE vocabulary's ids are not contiguous (id " + std::to_string(*id) + " of '" + token +
                  "' is repeated or not below the vocabulary size " + std::to_string(n) + ")");
    seen[static_cast<std::size_t>(*id)] = true;
    c.tokens[static_cast<std::size_t>(*id)] = token;
    c.vocab[token] = *id;
  }
  // Options unmask does not run: an error rather than other ids.
  if (model.contains("dropout") && !model["dropout"].is_null())
    throw Error(where + ": BPE dropout is not supported (it must be null)");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (model.contains(key) && !model[key].is_null() && model[key] != "")
      throw Error(where + ": BPE " + key + " is not supported (it must be null or empty)");
  if (flag(model, "byte_fallback", false, where)) throw Error(where + ": BPE byte_fallback is not supported");
  c.fuse_unk = flag(model, "fuse_unk", false, where);
  c.ignore_merges = flag(model, "ignore_merges", false, where);
  if (model.contains("unk_token") && !model["unk_token"].is_null()) {
    const std::string unk = model["unk_token"].is_string() ? model["unk_token"].get<std::string>() : "";
    if (!c.vocab.count(unk)) throw Error(where + ": the unk_token '" + unk + "' is not in the vocabulary");
    c.unk_id = c.vocab[unk];
  }
  if (!model.contains("merges") || !model["merges"].is_array()) throw Error(where + ": the BPE model has no 'merges' list");
  // Merges as "a b" (older files, merges.txt) or ["a", "b"] (tokenizers >= 0.20).
  std::size_t rank = 0;
  for (const auto& m : model["merges"]) {
    ++rank;
    std::string a, b;
    if (m.is_string()) {
      const std::string s = m;
      const auto space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
        throw Error(where + ": merge " + std::to_string(rank) + " '" + s + "' is not two tokens separated by one space");
      a = s.substr(0, space);
      b = s.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0];
      b = m[1];
    } else {
      throw Error(where + ": merge " + std::to_string(rank) + " is neither \"a b\" nor [\"a\", \"b\"]");
    }
    for (const std::string& t : {a, b, a + b})
      if (!c.vocab.count(t))
        throw Error(where + ": merge " + std::to_string(rank) + " ('" + a + "' '" + b + "') names '" + t +
                    "', which is not in the vocabulary");
    c.merges.push_back({c.vocab[a], c.vocab[b], c.vocab[a + b]});
  }
}

PreTokenizeStep parse_step(const json& p, const std::string& where) {
  PreTokenizeStep s;
  const std::string type = type_of(p);
  if (type == "ByteLevel") {
    s.byte_level = true;
    s.add_prefix_space = flag(p, "add_prefix_space", true, where);
    if (flag(p, "use_regex", true, where)) s.pattern = kGpt2Pattern;
    return s;  // trim_offsets changes offsets only, never ids
  }
  if (type != "Split")
    throw Error(where + ": pre-tokenizer '" + type + "' is not supported with BPE (supported: ByteLevel, Split, Sequence of them)");
  const json pattern = p.value("pattern", json());
  if (pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string()) {
    s.pattern = pattern["Regex"];
  } else if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string()) {
    s.pattern = pattern["String"];
    s.literal = true;
  } else {
    throw Error(where + ": a Split pre-tokenizer needs a 'pattern' {\"Regex\": ...} or {\"String\": ...}");
  }
  if (p.value("behavior", std::string()) != "Isolated" || flag(p, "invert", false, where))
    throw Error(where + ": only Split pre-tokenizers with behavior 'Isolated' and invert false are supported");
  return s;
}

BpeConfig parse_bpe_json(const std::string& text, const std::string& where) {
  json j = hf_json::parse_tokenizer_json(text, where);
  const std::string model_type = type_of(j["model"]);
  if (model_type != "BPE") throw Error(where + ": tokenizer model '" + model_type + "' is not a BPE model");
  BpeConfig c;
  parse_model(j["model"], where, c);

  if (!j.value("normalizer", json()).is_null())
    throw Error(where + ": normalizer '" + type_of(j["normalizer"]) + "' is not supported with BPE (supported: none)");
  const json pre = j.value("pre_tokenizer", json());
  if (type_of(pre) == "Sequence" && pre.contains("pretokenizers") && pre["pretokenizers"].is_array()) {
    for (const auto& p : pre["pretokenizers"]) c.pre.push_back(parse_step(p, where));
  } else if (!pre.is_null()) {
    c.pre.push_back(parse_step(pre, where));
  }
  const auto byte_levels = std::count_if(c.pre.begin(), c.pre.end(), [](const auto& s) { return s.byte_level; });
  if (byte_levels != 1 || !c.pre.back().byte_level)
    throw Error(where + ": a byte-level BPE needs the ByteLevel pre-tokenizer, as the last step");
  const json dec = j.value("decoder", json());
  if (!dec.is_null() && type_of(dec) != "ByteLevel")
    throw Error(where + ": decoder '" + type_of(dec) + "' is not supported with BPE (supported: ByteLevel)");
  c.byte_level_decoder = !dec.is_null();

  // Added tokens: the vocabulary's id when the content is in it, else the
  // next after the vocabulary and the added ids so far (added_vocabulary.rs).
  const int n = static_cast<int>(c.tokens.size());
  int top = -1;
  for (const auto& a : j.value("added_tokens", json::array())) {
    if (!a.is_object() || !a.contains("content") || !a["content"].is_string())
      throw Error(where + ": every added token needs a string 'content'");
    AddedToken t;
    t.content = a["content"];
    if (flag(a, "single_word", false, where))
      throw Error(where + ": added token '" + t.content + "' is single_word, which unmask does not support yet");
    t.lstrip = flag(a, "lstrip", false, where);
    t.rstrip = flag(a, "rstrip", false, where);
    t.special = flag(a, "special", false, where);
    t.normalized = flag(a, "normalized", !t.special, where);  // no normalizer: only the matching order differs
    const auto it = c.vocab.find(t.content);
    t.id = it != c.vocab.end() ? it->second : top >= n ? top + 1 : n;
    top = std::max(top, t.id);
    c.added.push_back(t);
  }

  auto find = [&](const std::string& content) {
    for (const auto& a : c.added)
      if (a.content == content) return a.id;
    const auto it = c.vocab.find(content);
    return it == c.vocab.end() ? -1 : it->second;
  };
  auto first_of = [&](std::initializer_list<std::string> names) {
    for (const auto& name : names)
      if (find(name) >= 0) return find(name);
    return -1;
  };
  // BOS/EOS: the post-processor's cls/sep (RoBERTa), else <s> </s>, else GPT-2's <|endoftext|>.
  std::string cls = "<s>", sep = "</s>";
  const json post = j.value("post_processor", json());
  if (type_of(post) == "RobertaProcessing" || type_of(post) == "BertProcessing") {
    cls = post.at("cls").at(0).get<std::string>();
    sep = post.at("sep").at(0).get<std::string>();
  }
  c.special.bos = first_of({cls, "<|endoftext|>"});
  c.special.eos = first_of({sep, "<|endoftext|>"});
  c.special.mask = first_of({"<mask>", "[MASK]"});
  if (c.special.bos < 0 || c.special.eos < 0 || c.special.mask < 0)
    throw Error(where + ": unmask needs a BOS and an EOS token (" + cls + " " + sep +
                " or <|endoftext|>) and a mask token (<mask> or [MASK])");
  // unk: the model's, else <unk>, else EOS; pad: the padding's, else <pad>, else EOS (GPT-2 has none).
  c.special.unk = c.unk_id >= 0 ? c.unk_id : first_of({"<unk>"});
  if (c.special.unk < 0) c.special.unk = c.special.eos;
  const json padding = j.value("padding", json());
  c.special.pad = -1;
  if (padding.is_object() && padding.contains("pad_token") && padding["pad_token"].is_string())
    c.special.pad = find(padding["pad_token"]);
  if (c.special.pad < 0) c.special.pad = first_of({"<pad>"});
  if (c.special.pad < 0) c.special.pad = c.special.eos;
  return c;
}

}  // namespace

BpeConfig parse_bpe_config(const std::string& text, const std::string& where) {
  try {
    return parse_bpe_json(text, where);
  } catch (const json::exception& e) {  // a field of the wrong JSON type
    throw Error(where + ": malformed tokenizer.json (" + e.what() + ")");
  }
}

}  // namespace unmask
