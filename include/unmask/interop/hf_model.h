// Hugging Face model directories (config.json, model.safetensors or its
// sharded index, tokenizer files) as unmask reads and writes them:
//   BertForMaskedLM, RobertaForMaskedLM → the `bert` backbone (variant bert |
//   roberta); GPT2LMHeadModel → the `gpt2` backbone (an ar scorer); MDLM's
//   released checkpoints (model_type "mdlm", kuleshov-group/mdlm-owt) → `dit`.
// Tensors are read memory-mapped and converted to float32 (F32, F16, BF16).
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "unmask/config.h"

namespace unmask {

enum class HfKind { Bert, Roberta, Gpt2, Mdlm };

struct HfModel {
  std::filesystem::path dir;
  std::string architecture;  // "BertForMaskedLM", ..., "MDLM"
  HfKind kind = HfKind::Bert;
  ModelConfig model;         // the unmask model section it maps to
  std::string objective;     // what the weights were trained for: mlm, ar or mdlm
  std::int64_t vocab_size = 0;
  std::int64_t pad_token_id = -1;  // RoBERTa's padding_idx (-1 when absent)
};

// Reads DIR/config.json: Error naming the file and key for unsupported
// architectures, activations, LayerNorm epsilons or position types, and for a
// directory with only pytorch_model.bin (pickles are not read).
HfModel read_hf_config(const std::filesystem::path& dir);

// The safetensors files of DIR (model.safetensors, or every shard that
// model.safetensors.index.json names).
std::vector<std::filesystem::path> hf_weight_files(const std::filesystem::path& dir);

// Every tensor of the directory under unmask's parameter names, float32 on the
// CPU. `ignored` receives HF names that have no unmask counterpart by design
// (tied decoders, GPT-2's causal-mask buffers, BERT's pooler and NSP head).
std::map<std::string, at::Tensor> read_hf_weights(const HfModel& m, std::vector<std::string>* ignored = nullptr);

// unmask's `bert` parameters under HF BertForMaskedLM / RobertaForMaskedLM
// names (the inverse of read_hf_weights for those two), with the tied decoder
// left out as transformers' save_pretrained does.
std::vector<std::pair<std::string, at::Tensor>> bert_to_hf_names(
    const std::vector<std::pair<std::string, at::Tensor>>& params, const std::string& variant);


// model.vocab_size for the weights of `m` beside `tokenizer_vocab` tokens: 0
// when the two agree; m.vocab_size when only an appended [MASK] separates them
// and the model is an ar scorer (GPT-2's 50,257 rows, tokenizer 50,258).
// Error naming both sizes otherwise.
std::int64_t hf_vocab_setting(const HfModel& m, std::int64_t tokenizer_vocab);

}  // namespace unmask
