// `unmask export hf`: a `bert` checkpoint → a directory that transformers
// loads as BertForMaskedLM or RobertaForMaskedLM (config.json,
// model.safetensors, the tokenizer's tokenizer.json).
#include <torch/torch.h>

#include "unmask/app/interop.h"
#include "unmask/interop/hf_model.h"
#include "unmask/run/run_model.h"
#include "unmask/util/error.h"
#include "unmask/util/fs.h"
#include "unmask/util/log.h"
#include "unmask/util/safetensors.h"

namespace unmask {
namespace {

nlohmann::ordered_json hf_config(const RunModel& m, std::int64_t vocab) {
  const ModelConfig& c = m.config.model;
  const bool roberta = c.variant == "roberta";
  const SpecialTokens& sp = m.tokenizer->special();
  nlohmann::ordered_json j;
  j["architectures"] = {roberta ? "RobertaForMaskedLM" : "BertForMaskedLM"};
  j["model_type"] = roberta ? "roberta" : "bert";
  j["vocab_size"] = vocab;
  j["hidden_size"] = c.hidden;
  j["num_hidden_layers"] = c.layers;
  j["num_attention_heads"] = c.heads;
  j["intermediate_size"] = static_cast<std::int64_t>(std::llround(c.mlp_ratio * static_cast<double>(c.hidden)));
  j["hidden_act"] = "gelu";
  j["hidden_dropout_prob"] = c.dropout;
  j["attention_probs_dropout_prob"] = c.dropout;
  j["max_position_embeddings"] = c.max_length + (roberta ? 2 : 0);
  j["type_vocab_size"] = roberta ? 1 : 2;
  j["initializer_range"] = 0.02;
  j["layer_norm_eps"] = m.config.model.layer_norm_eps > 0 ? m.config.model.layer_norm_eps : roberta ? 1e-5 : 1e-12;
  j["position_embedding_type"] = "absolute";
  j["pad_token_id"] = sp.pad;
  if (roberta) {
    j["bos_token_id"] = sp.bos;
    j["eos_token_id"] = sp.eos;
  }
  j["tie_word_embeddings"] = c.tie_embeddings;
  return j;
}

}  // namespace

nlohmann::ordered_json run_export_hf(const ExportHfRequest& q) {
  if (q.checkpoint.empty() || q.out.empty()) throw Error("export hf needs --checkpoint RUN and --out DIR");
  const fs::path out(q.out);
  if (fs::exists(out)) throw Error("--out " + out.string() + " already exists: choose a new directory");
  RunModel m = load_run_model(q.checkpoint, "cpu", !q.no_ema);
  const ModelConfig& c = m.config.model;
  if (c.backbone != "bert")
    throw Error("export hf writes bert checkpoints (BertForMaskedLM, RobertaForMaskedLM); " + m.dir.string() +
                " is model.backbone=" + c.backbone);
  if (c.time_conditioning != "none")
    throw Error("export hf: " + m.dir.string() + " has model.time_conditioning=" + c.time_conditioning +
                ", whose time-embedding tensors BertForMaskedLM does not have");
  if (c.variant == "roberta" && m.tokenizer->special().pad != 1)
    throw Error("export hf: RobertaForMaskedLM numbers positions from padding_idx + 1 = 2, but the tokenizer's "
                "[PAD] is " + std::to_string(m.tokenizer->special().pad));
  std::vector<std::pair<std::string, at::Tensor>> params;
  std::int64_t vocab = 0;
  for (const auto& p : m.model->named_parameters()) {
    params.emplace_back(p.key(), p.value().detach().to(at::kFloat).contiguous());
    if (p.key() == "bert.embeddings.word_embeddings.weight") vocab = p.value().size(0);
  }
  const auto tensors = bert_to_hf_names(params, c.variant);

  StagingDir staging(out, /*overwrite=*/false);
  save_safetensors(staging.path() / "model.safetensors", tensors, {{"format", "pt"}});
  write_file_atomic(staging.path() / "config.json", hf_config(m, vocab).dump(2) + "\n");
  const std::string type = m.tokenizer->type();
  std::string tokenizer_note;
  if (type == "wordpiece" || type == "bpe") {
    write_file_atomic(staging.path() / "tokenizer.json", m.tokenizer->model_bytes());
    const SpecialTokens& sp = m.tokenizer->special();
    const nlohmann::ordered_json tc = {{"tokenizer_class", "PreTrainedTokenizerFast"},
                                       {"pad_token", m.tokenizer->piece(sp.pad)},
                                       {"unk_token", m.tokenizer->piece(sp.unk)},
                                       {"bos_token", m.tokenizer->piece(sp.bos)},
                                       {"eos_token", m.tokenizer->piece(sp.eos)},
                                       {"mask_token", m.tokenizer->piece(sp.mask)},
                                       {"model_max_length", c.max_length}};
    write_file_atomic(staging.path() / "tokenizer_config.json", tc.dump(2) + "\n");
    tokenizer_note = "tokenizer.json";
  } else {
    // A SentencePiece model travels as its .model file; transformers needs a
    // tokenizer class chosen by the user to read it.
    write_file_atomic(staging.path() / "spiece.model", m.tokenizer->model_bytes());
    tokenizer_note = "spiece.model (SentencePiece: load it with a SentencePiece-based tokenizer class)";
    log::warn("export hf: the tokenizer is SentencePiece; written as spiece.model, not as tokenizer.json");
  }
  staging.commit();
  nlohmann::ordered_json j;
  j["architecture"] = c.variant == "roberta" ? "RobertaForMaskedLM" : "BertForMaskedLM";
  j["tensors"] = tensors.size();
  j["ema"] = m.ema;
  j["tokenizer"] = tokenizer_note;
  j["out"] = out.string();
  return j;
}

}  // namespace unmask
