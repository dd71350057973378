// HF model directories into unmask backbones, checked against transformers'
// own logits on tiny random models (tests/fixtures/make_hf_fixtures.py):
// BertForMaskedLM (F32, F16, BF16 files), RobertaForMaskedLM, GPT2LMHeadModel
// and an MDLM hub-layout DiT; the export names are the inverse of the import
// names; every kind of bad directory is one clear error.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "unmask/interop/hf_model.h"
#include "unmask/model/backbone.h"
#include "unmask/model/weights.h"
#include "unmask/util/error.h"
#include "unmask/util/safetensors.h"

namespace unmask {
namespace {

namespace fs = std::filesystem;

// The backbone an HF fixture maps to, with its weights loaded (strictly).
Backbone imported(const HfModel& hf) {
  BackboneOptions o{hf.model, hf.vocab_size, hf.objective == "ar", 0};
  o.model.dropout = 0.0;
  auto model = make_backbone(o);
  load_named_tensors(*model, read_hf_weights(hf), hf.dir.string());
  model->eval();
  return model;
}

class HfLogits : public ::testing::TestWithParam<std::string> {};

TEST_P(HfLogits, MatchTransformersWithin1e5) {
  const std::string name = GetParam();
  const HfModel hf = read_hf_config(test::hf_fixtures() / name);
  const auto io = load_safetensors(test::hf_fixtures() / (name + "_io.safetensors"));
  auto model = imported(hf);
  const at::Tensor ids = io.tensors.at("ids"), real = io.tensors.at("mask").to(torch::kBool);
  at::Tensor cond;
  if (name == "mdlm") cond = io.tensors.at("sigma");
  torch::NoGradGuard no_grad;
  const at::Tensor logits = model->forward(ids, cond, real);
  const at::Tensor expected = io.tensors.at("logits");
  ASSERT_EQ(logits.sizes(), expected.sizes());
  // RoBERTa gives padding its own position (padding_idx): compare real tokens.
  const at::Tensor diff = (logits - expected).abs().masked_select(real.unsqueeze(-1)).max();
  EXPECT_LT(diff.item<float>(), 1e-5) << name << ": max |Δ| " << diff.item<float>();
  EXPECT_GT(expected.abs().max().item<float>(), 1.0f);  // not trivially small
}

INSTANTIATE_TEST_SUITE_P(Fixtures, HfLogits,
                         ::testing::Values("bert", "bert_f16", "bert_bf16", "roberta", "roberta_eps", "gpt2", "mdlm"));

TEST(HfInterop, MdlmWithoutTimeConditioningSeesSigmaZero) {
  const test::TempDir dir;
  fs::copy(test::hf_fixtures() / "mdlm", dir / "m");
  auto config = nlohmann::json::parse(test::read_text(dir / "m" / "config.json"));
  config["time_conditioning"] = false;  // as the released mdlm-owt checkpoint
  std::ofstream(dir / "m" / "config.json") << config.dump();
  const HfModel hf = read_hf_config(dir / "m");
  EXPECT_EQ(hf.model.time_conditioning, "none");
  const auto io = load_safetensors(test::hf_fixtures() / "mdlm_io.safetensors");
  auto model = imported(hf);
  torch::NoGradGuard no_grad;
  const at::Tensor logits = model->forward(io.tensors.at("ids"), io.tensors.at("sigma"), at::Tensor());
  EXPECT_LT((logits - io.tensors.at("logits_sigma0")).abs().max().item<float>(), 1e-5);
}

TEST(HfInterop, ConfigsMapToUnmaskModelSections) {
  const HfModel bert = read_hf_config(test::hf_fixtures() / "bert");
  EXPECT_EQ(bert.kind, HfKind::Bert);
  EXPECT_EQ(bert.model.backbone, "bert");
  EXPECT_EQ(bert.model.hidden, 32);
  EXPECT_EQ(bert.model.mlp_ratio, 2.0);
  EXPECT_EQ(bert.model.max_length, 64);
  const HfModel roberta = read_hf_config(test::hf_fixtures() / "roberta");
  EXPECT_EQ(roberta.model.variant, "roberta");
  EXPECT_EQ(roberta.model.max_length, 64);  // 66 positions less padding_idx + 1
  const HfModel gpt2 = read_hf_config(test::hf_fixtures() / "gpt2");
  EXPECT_EQ(gpt2.model.backbone, "gpt2");
  EXPECT_EQ(gpt2.objective, "ar");
  EXPECT_EQ(gpt2.model.mlp_ratio, 4.0);  // n_inner null
  EXPECT_EQ(hf_vocab_setting(gpt2, gpt2.vocab_size + 1), gpt2.vocab_size);  // tokenizer + [MASK]
  EXPECT_EQ(hf_vocab_setting(gpt2, gpt2.vocab_size), 0);
  const HfModel mdlm = read_hf_config(test::hf_fixtures() / "mdlm");
  EXPECT_EQ(mdlm.model.backbone, "dit");
  EXPECT_EQ(mdlm.model.cond_dim, 16);
  EXPECT_EQ(mdlm.model.time_conditioning, "adaln");
  EXPECT_THROW(hf_vocab_setting(bert, bert.vocab_size + 1), Error);  // a BERT needs its own tokenizer
}

TEST(HfInterop, ExportNamesAreTheInverseOfImportNames) {
  for (const std::string name : {"bert", "roberta"}) {
    const HfModel hf = read_hf_config(test::hf_fixtures() / name);
    auto model = imported(hf);
    std::vector<std::pair<std::string, at::Tensor>> params;
    for (const auto& p : model->named_parameters()) params.emplace_back(p.key(), p.value());
    const auto exported = bert_to_hf_names(params, hf.model.variant);
    const auto original = load_safetensors(test::hf_fixtures() / name / "model.safetensors").tensors;
    ASSERT_EQ(exported.size(), original.size()) << name;
    for (const auto& [hf_name, tensor] : exported) {
      ASSERT_TRUE(original.count(hf_name)) << name << ": " << hf_name;
      EXPECT_TRUE(torch::equal(tensor, original.at(hf_name))) << hf_name;
    }
  }
}

// A copy of a fixture directory to break.
fs::path broken_copy(const std::string& name, const std::string& tag) {
  static const test::TempDir tmp;
  const fs::path dir = tmp / tag;
  fs::create_directories(dir);
  fs::copy(test::hf_fixtures() / name, dir);
  return dir;
}

void edit_config(const fs::path& dir, const std::function<void(nlohmann::json&)>& edit) {
  auto j = nlohmann::json::parse(test::read_text(dir / "config.json"));
  edit(j);
  std::ofstream(dir / "config.json") << j.dump();
}

TEST(HfInterop, BadDirectoriesAreOneClearError) {
  using test::error_of;
  {
    const fs::path d = broken_copy("bert", "type");
    edit_config(d, [](auto& j) { j["model_type"] = "t5"; });
    EXPECT_NE(error_of([&] { read_hf_config(d); }).find("model_type 't5' is not supported"), std::string::npos);
  }
  {
    const fs::path d = broken_copy("bert", "act");
    edit_config(d, [](auto& j) { j["hidden_act"] = "relu"; });
    EXPECT_NE(error_of([&] { read_hf_config(d); }).find("hidden_act 'relu' is not supported"), std::string::npos);
  }
  {
    const fs::path d = broken_copy("gpt2", "gpt2act");
    edit_config(d, [](auto& j) { j["scale_attn_by_inverse_layer_idx"] = true; });
    EXPECT_NE(error_of([&] { read_hf_config(d); }).find("scale_attn_by_inverse_layer_idx"), std::string::npos);
  }
  {
    const fs::path d = broken_copy("bert", "pickle");
    fs::rename(d / "model.safetensors", d / "pytorch_model.bin");
    EXPECT_NE(error_of([&] { hf_weight_files(d); }).find("pickled weights are not read"), std::string::npos);
  }
  {
    const fs::path d = broken_copy("bert", "noconfig");
    fs::remove(d / "config.json");
    EXPECT_NE(error_of([&] { read_hf_config(d); }).find("has no config.json"), std::string::npos);
  }
  const HfModel bert = read_hf_config(test::hf_fixtures() / "bert");
  auto weights = load_safetensors(test::hf_fixtures() / "bert" / "model.safetensors");
  auto rewrite = [&](const std::string& tag, const std::function<void(std::map<std::string, at::Tensor>&)>& edit) {
    const fs::path d = broken_copy("bert", tag);
    auto t = weights.tensors;
    edit(t);
    save_safetensors(d / "model.safetensors", std::vector<std::pair<std::string, at::Tensor>>(t.begin(), t.end()));
    return read_hf_config(d);
  };
  {
    const HfModel hf = rewrite("missing", [](auto& t) { t.erase("bert.encoder.layer.1.output.dense.weight"); });
    EXPECT_NE(error_of([&] { imported(hf); }).find("no tensor 'bert.encoder.layer.1.output.dense.weight'"),
              std::string::npos);
  }
  {
    const HfModel hf = rewrite("shape", [](auto& t) { t["cls.predictions.bias"] = torch::zeros({7}); });
    EXPECT_NE(error_of([&] { imported(hf); }).find("'cls.predictions.bias' has shape [7]"), std::string::npos);
  }
  {
    const HfModel hf = rewrite("dtype", [](auto& t) { t["cls.predictions.bias"] = torch::zeros({1000}, torch::kLong); });
    EXPECT_NE(error_of([&] { read_hf_weights(hf); }).find("'cls.predictions.bias' has dtype Long"), std::string::npos);
  }
  {
    const fs::path d = broken_copy("bert", "header");
    std::string bytes = test::read_text(d / "model.safetensors");
    const std::string from = "\"data_offsets\":[0,";
    const auto at = bytes.find(from);
    ASSERT_NE(at, std::string::npos);
    bytes.replace(at, from.size(), "\"data_offsets\":[9,");  // overlaps / mismatches its shape
    std::ofstream(d / "model.safetensors", std::ios::binary) << bytes;
    const HfModel hf = read_hf_config(d);
    EXPECT_NE(error_of([&] { read_hf_weights(hf); }).find("model.safetensors"), std::string::npos);
  }
}

// layer_norm_eps is the model's own, read from config.json: RoBERTa with
// roberta-base's 1e-5 and with RobertaConfig's default 1e-12 both import, and
// the value reaches every LayerNorm (a large one changes the logits).
TEST(HfInterop, LayerNormEpsilonComesFromConfigJson) {
  EXPECT_DOUBLE_EQ(read_hf_config(test::hf_fixtures() / "roberta").model.layer_norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(read_hf_config(test::hf_fixtures() / "roberta_eps").model.layer_norm_eps, 1e-12);
  EXPECT_DOUBLE_EQ(read_hf_config(test::hf_fixtures() / "bert").model.layer_norm_eps, 1e-12);
  HfModel hf = read_hf_config(test::hf_fixtures() / "roberta");
  const auto io = load_safetensors(test::hf_fixtures() / "roberta_io.safetensors");
  const at::Tensor ids = io.tensors.at("ids"), real = io.tensors.at("mask").to(torch::kBool);
  torch::NoGradGuard no_grad;
  const at::Tensor base = imported(hf)->forward(ids, at::Tensor(), real);
  hf.model.layer_norm_eps = 0.5;
  const at::Tensor wide = imported(hf)->forward(ids, at::Tensor(), real);
  EXPECT_GT((base - wide).abs().max().item<float>(), 1e-2);
  const fs::path d = broken_copy("roberta", "eps0");
  edit_config(d, [](auto& j) { j["layer_norm_eps"] = 0.0; });
  EXPECT_NE(test::error_of([&] { read_hf_config(d); }).find("layer_norm_eps 0 must be positive"), std::string::npos);
}

}  // namespace
}  // namespace unmask
