// config.json of an HF model directory → the unmask model section. Every
// setting the unmask backbones do not reproduce is an error, not a guess.
#include <nlohmann/json.hpp>

#include <cmath>

#include "unmask/interop/hf_model.h"
#include "unmask/util/error.h"
#include "unmask/util/text.h"
#include "unmask/util/fs.h"

namespace unmask {
namespace {

using HfJson = nlohmann::json;

struct ConfigReader {
  HfJson j;
  std::string file;

  bool has(const char* key) const { return j.contains(key) && !j.at(key).is_null(); }
  std::int64_t integer(const char* key) const {
    if (!has(key) || !j.at(key).is_number_integer() || j.at(key).get<std::int64_t>() < 1)
      throw Error(file + ": '" + std::string(key) + "' must be a positive integer");
    return j.at(key).get<std::int64_t>();
  }
  double number(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    if (!j.at(key).is_number()) throw Error(file + ": '" + std::string(key) + "' must be a number");
    return j.at(key).get<double>();
  }
  std::string text(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    if (!j.at(key).is_string()) throw Error(file + ": '" + std::string(key) + "' must be a string");
    return j.at(key).get<std::string>();
  }
  void expect(const char* key, const std::string& fallback, const std::string& want) const {
    const std::string got = text(key, fallback);
    if (got != want)
      throw Error(file + ": " + key + " '" + got + "' is not supported (unmask reproduces '" + want + "')");
  }
  void expect_eps(const char* key, double fallback, double want) const {
    const double got = number(key, fallback);
    if (std::abs(got - want) > want * 1e-6)
      throw Error(file + ": " + key + " " + shortest_number(got) + " is not supported (unmask's backbone uses " +
                  shortest_number(want) + ")");
  }
};

void read_bert(const ConfigReader& r, HfModel& m, bool roberta) {
  m.kind = roberta ? HfKind::Roberta : HfKind::Bert;
  m.objective = "mlm";
  ModelConfig& c = m.model;
  c.backbone = "bert";
  c.variant = roberta ? "roberta" : "bert";
  c.hidden = r.integer("hidden_size");
  c.layers = r.integer("num_hidden_layers");
  c.heads = r.integer("num_attention_heads");
  c.mlp_ratio = static_cast<double>(r.integer("intermediate_size")) / static_cast<double>(c.hidden);
  c.dropout = r.number("hidden_dropout_prob", 0.1);
  c.tie_embeddings = !r.has("tie_word_embeddings") || r.j.at("tie_word_embeddings").get<bool>();
  c.time_conditioning = "none";
  const std::int64_t positions = r.integer("max_position_embeddings");
  m.vocab_size = r.integer("vocab_size");
  r.expect("hidden_act", "gelu", "gelu");
  r.expect("position_embedding_type", "absolute", "absolute");
  // HF's BertConfig and RobertaConfig both default to 1e-12 (roberta-base sets 1e-5).
  c.layer_norm_eps = r.number("layer_norm_eps", 1e-12);
  if (!(c.layer_norm_eps > 0))
    throw Error(r.file + ": layer_norm_eps " + shortest_number(c.layer_norm_eps) + " must be positive");
  const std::int64_t types = r.has("type_vocab_size") ? r.integer("type_vocab_size") : 2;
  if (types != (roberta ? 1 : 2))
    throw Error(r.file + ": type_vocab_size " + std::to_string(types) + " is not supported (unmask's " + c.variant +
                " variant has " + (roberta ? "1" : "2") + ")");
  if (roberta) {
    m.pad_token_id = r.has("pad_token_id") ? r.j.at("pad_token_id").get<std::int64_t>() : 1;
    if (m.pad_token_id != 1)
      throw Error(r.file + ": pad_token_id " + std::to_string(m.pad_token_id) +
                  " is not supported (RoBERTa positions start at padding_idx + 1 = 2 in unmask)");
    if (positions < 3) throw Error(r.file + ": max_position_embeddings must exceed 2 for RoBERTa");
    c.max_length = positions - 2;
  } else {
    c.max_length = positions;
  }
  if (static_cast<std::int64_t>(std::llround(c.mlp_ratio * static_cast<double>(c.hidden))) != r.integer("intermediate_size"))
    throw Error(r.file + ": intermediate_size is not representable as a ratio of hidden_size");
}

void read_gpt2(const ConfigReader& r, HfModel& m) {
  m.kind = HfKind::Gpt2;
  m.objective = "ar";
  ModelConfig& c = m.model;
  c.backbone = "gpt2";
  c.hidden = r.integer("n_embd");
  c.layers = r.integer("n_layer");
  c.heads = r.integer("n_head");
  c.mlp_ratio = r.has("n_inner") ? static_cast<double>(r.integer("n_inner")) / static_cast<double>(c.hidden) : 4.0;
  c.dropout = r.number("resid_pdrop", 0.1);
  c.max_length = r.integer("n_positions");
  c.time_conditioning = "none";
  c.tie_embeddings = true;
  m.vocab_size = r.integer("vocab_size");
  r.expect("activation_function", "gelu_new", "gelu_new");
  r.expect_eps("layer_norm_epsilon", 1e-5, 1e-5);
  for (const char* flag : {"scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"})
    if (r.has(flag) && r.j.at(flag).get<bool>())
      throw Error(r.file + ": " + std::string(flag) + " = true is not supported");
  if (r.has("scale_attn_weights") && !r.j.at("scale_attn_weights").get<bool>())
    throw Error(r.file + ": scale_attn_weights = false is not supported");
}

// MDLM's HF config (configuration_mdlm.MDLMConfig): the DiT of models/dit.py.
void read_mdlm(const ConfigReader& r, HfModel& m) {
  m.kind = HfKind::Mdlm;
  m.objective = "mdlm";
  ModelConfig& c = m.model;
  c.backbone = "dit";
  c.hidden = r.integer("hidden_dim");
  c.cond_dim = r.integer("cond_dim");
  c.layers = r.integer("n_blocks");
  c.heads = r.integer("n_heads");
  c.mlp_ratio = 4.0;  // DDiTBlock(mlp_ratio=4)
  c.dropout = r.number("dropout", 0.1);
  c.max_length = r.integer("model_length");
  const bool timed = r.has("time_conditioning") && r.j.at("time_conditioning").get<bool>();
  c.time_conditioning = timed ? "adaln" : "none";
  m.vocab_size = r.integer("vocab_size");
  if (c.hidden % c.heads != 0 || (c.hidden / c.heads) % 2 != 0)
    throw Error(r.file + ": hidden_dim / n_heads must be an even integer (rotary embedding)");
}

}  // namespace

std::int64_t hf_vocab_setting(const HfModel& m, std::int64_t tokenizer_vocab) {
  if (tokenizer_vocab == m.vocab_size) return 0;
  if (m.objective == "ar" && tokenizer_vocab == m.vocab_size + 1) return m.vocab_size;
  throw Error("the tokenizer of " + m.dir.string() + " has " + std::to_string(tokenizer_vocab) +
              " tokens but the weights' vocabulary (config.json vocab_size) has " + std::to_string(m.vocab_size) +
              ": they do not belong together");
}

HfModel read_hf_config(const fs::path& dir) {
  const fs::path path = dir / "config.json";
  if (!fs::is_directory(dir)) throw Error("HF model directory " + dir.string() + " does not exist");
  if (!fs::exists(path)) throw Error(dir.string() + " has no config.json: not an HF model directory");
  ConfigReader r{HfJson::parse(read_file(path), nullptr, false), path.string()};
  if (!r.j.is_object()) throw Error(r.file + " is not a JSON object");
  HfModel m;
  m.dir = dir;
  const std::string type = r.text("model_type", "");
  if (r.has("architectures") && r.j.at("architectures").is_array() && !r.j.at("architectures").empty() &&
      r.j.at("architectures")[0].is_string())
    m.architecture = r.j.at("architectures")[0].get<std::string>();
  try {
    if (type == "bert") read_bert(r, m, false);
    else if (type == "roberta") read_bert(r, m, true);
    else if (type == "gpt2") read_gpt2(r, m);
    else if (type == "mdlm") read_mdlm(r, m);
    else
      throw Error(r.file + ": model_type '" + type +
                  "' is not supported (valid: bert, roberta, gpt2, mdlm — BertForMaskedLM, RobertaForMaskedLM, "
                  "GPT2LMHeadModel, MDLM)");
  } catch (const HfJson::exception& e) {
    throw Error(r.file + ": a key has the wrong type (" + e.what() + ")");
  }
  if (m.architecture.empty()) m.architecture = type;
  return m;
}

}  // namespace unmask
