// Tensor names between HF checkpoints and unmask's backbones, and the reading
// of (sharded) safetensors weights in F32, F16 or BF16.
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "unmask/interop/hf_model.h"
#include "unmask/util/error.h"
#include "unmask/util/fs.h"
#include "unmask/util/safetensors.h"

namespace unmask {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
std::string replace_prefix(const std::string& s, const std::string& from, const std::string& to) {
  return to + s.substr(from.size());
}

// Old TF-converted BERT checkpoints (bert-base-uncased's) name LayerNorm
// parameters gamma/beta; transformers renames them when it loads.
std::string fix_layer_norm(std::string name) {
  if (ends_with(name, "LayerNorm.gamma")) return name.substr(0, name.size() - 5) + "weight";
  if (ends_with(name, "LayerNorm.beta")) return name.substr(0, name.size() - 4) + "bias";
  return name;
}

// HF name → unmask name; "" when the tensor has no counterpart by design.
std::string bert_name(const std::string& hf, bool roberta, bool tied) {
  const std::string name = fix_layer_norm(hf);
  if (roberta) {
    if (starts_with(name, "roberta.pooler.")) return "";
    if (starts_with(name, "roberta.")) return replace_prefix(name, "roberta.", "bert.");
    if (starts_with(name, "lm_head.dense.")) return replace_prefix(name, "lm_head.dense.", "cls.predictions.transform.dense.");
    if (starts_with(name, "lm_head.layer_norm."))
      return replace_prefix(name, "lm_head.layer_norm.", "cls.predictions.transform.LayerNorm.");
    if (name == "lm_head.bias") return "cls.predictions.bias";
    if (name == "lm_head.decoder.bias") return "";  // tied to lm_head.bias
    if (name == "lm_head.decoder.weight") return tied ? "" : "cls.predictions.decoder.weight";
    return name;
  }
  if (starts_with(name, "bert.pooler.") || starts_with(name, "cls.seq_relationship.")) return "";
  if (name == "cls.predictions.decoder.bias") return "";  // tied to cls.predictions.bias
  if (name == "cls.predictions.decoder.weight") return tied ? "" : name;
  return name;
}

std::string gpt2_name(const std::string& hf) {
  if (hf == "lm_head.weight") return "";  // tied to transformer.wte
  if (ends_with(hf, ".attn.bias") || ends_with(hf, ".attn.masked_bias")) return "";  // causal-mask buffers
  return starts_with(hf, "transformer.") ? hf : "transformer." + hf;  // gpt2 on the hub has no prefix
}

// MDLM's HF model holds the DiT as `backbone` (modeling_mdlm.MDLM).
std::string mdlm_name(const std::string& hf) {
  const std::string name = starts_with(hf, "backbone.") ? hf.substr(9) : hf;
  if (ends_with(name, "rotary_emb.inv_freq")) return "";  // recomputed from the head size
  return name;
}

std::string unmask_name(const HfModel& m, const std::string& hf) {
  switch (m.kind) {
    case HfKind::Bert: return bert_name(hf, false, m.model.tie_embeddings);
    case HfKind::Roberta: return bert_name(hf, true, m.model.tie_embeddings);
    case HfKind::Gpt2: return gpt2_name(hf);
    case HfKind::Mdlm: return mdlm_name(hf);
  }
  return hf;
}

}  // namespace

std::vector<fs::path> hf_weight_files(const fs::path& dir) {
  if (fs::exists(dir / "model.safetensors")) return {dir / "model.safetensors"};
  const fs::path index = dir / "model.safetensors.index.json";
  if (fs::exists(index)) {
    const auto j = nlohmann::json::parse(read_file(index), nullptr, false);
    if (!j.is_object() || !j.contains("weight_map") || !j.at("weight_map").is_object())
      throw Error(index.string() + " has no weight_map object");
    std::vector<fs::path> files;
    for (const auto& [name, file] : j.at("weight_map").items()) {
      if (!file.is_string()) throw Error(index.string() + ": the shard of '" + name + "' is not a file name");
      const fs::path shard = dir / file.get<std::string>();
      if (shard.filename() != shard.lexically_relative(dir))
        throw Error(index.string() + ": shard '" + file.get<std::string>() + "' lies outside the directory");
      if (std::find(files.begin(), files.end(), shard) == files.end()) files.push_back(shard);
    }
    if (files.empty()) throw Error(index.string() + " names no shards");
    return files;
  }
  if (fs::exists(dir / "pytorch_model.bin"))
    throw Error(dir.string() + " holds pytorch_model.bin only: pickled weights are not read (they can run code); "
                "convert it with transformers: AutoModel.from_pretrained(DIR).save_pretrained(DIR, "
                "safe_serialization=True)");
  throw Error(dir.string() + " has no model.safetensors (nor model.safetensors.index.json)");
}

std::map<std::string, at::Tensor> read_hf_weights(const HfModel& m, std::vector<std::string>* ignored) {
  std::map<std::string, at::Tensor> out;
  for (const fs::path& file : hf_weight_files(m.dir)) {
    if (!fs::exists(file)) throw Error("shard " + file.string() + " is missing");
    const SafetensorsFile st = map_safetensors(file);
    for (const auto& [hf, tensor] : st.tensors) {
      const std::string name = unmask_name(m, hf);
      if (name.empty() || ends_with(name, "position_ids")) {
        if (ignored) ignored->push_back(hf);
        continue;
      }
      const auto type = tensor.scalar_type();
      if (type != at::kFloat && type != at::kHalf && type != at::kBFloat16)
        throw Error(file.string() + ": tensor '" + hf + "' has dtype " + c10::toString(type) +
                    " (valid for weights: F32, F16, BF16)");
      if (out.count(name)) throw Error(file.string() + ": tensor '" + hf + "' appears twice");
      out[name] = tensor.to(at::kFloat).clone();  // owns its memory: the mapping goes away
    }
  }
  return out;
}

std::vector<std::pair<std::string, at::Tensor>> bert_to_hf_names(
    const std::vector<std::pair<std::string, at::Tensor>>& params, const std::string& variant) {
  const bool roberta = variant == "roberta";
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& [name, tensor] : params) {
    std::string hf = name;
    if (starts_with(name, "bert.")) {
      hf = roberta ? replace_prefix(name, "bert.", "roberta.") : name;
    } else if (roberta && starts_with(name, "cls.predictions.transform.dense.")) {
      hf = replace_prefix(name, "cls.predictions.transform.dense.", "lm_head.dense.");
    } else if (roberta && starts_with(name, "cls.predictions.transform.LayerNorm.")) {
      hf = replace_prefix(name, "cls.predictions.transform.LayerNorm.", "lm_head.layer_norm.");
    } else if (roberta && name == "cls.predictions.bias") {
      hf = "lm_head.bias";
    } else if (roberta && name == "cls.predictions.decoder.weight") {
      hf = "lm_head.decoder.weight";
    } else if (!starts_with(name, "cls.predictions.")) {
      throw Error("tensor '" + name + "' has no counterpart in HF " +
                  (roberta ? "RobertaForMaskedLM" : "BertForMaskedLM") +
                  " (a time-conditioned model cannot be exported)");
    }
    out.emplace_back(hf, tensor);
  }
  return out;
}

}  // namespace unmask
