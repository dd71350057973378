// Cross-checks against implementations we did not write, on fixtures made by
// tests/fixtures/make_fixtures.py: HF transformers' BertForMaskedLM logits,
// a PyTorch transcription of MDLM's DiT, and the losses of MDLM, D3PM,
// DiffusionBERT, HF MLM and AR as their reference code computes them.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "unmask/diffusion/objective.h"
#include "unmask/model/backbone.h"
#include "unmask/model/weights.h"
#include "unmask/util/error.h"
#include "unmask/util/safetensors.h"

namespace unmask {
namespace {

std::filesystem::path fixture(const std::string& name) {
  return std::filesystem::path(UNMASK_SOURCE_DIR) / "tests" / "fixtures" / name;
}

BackboneOptions options_from(const SafetensorsFile& io, const std::string& backbone) {
  BackboneOptions o;
  o.model.backbone = backbone;
  o.model.hidden = std::stoll(io.metadata.at("hidden"));
  o.model.layers = std::stoll(io.metadata.at("layers"));
  o.model.heads = std::stoll(io.metadata.at("heads"));
  o.model.mlp_ratio = std::stod(io.metadata.at("mlp_ratio"));
  if (io.metadata.count("max_length")) o.model.max_length = std::stoll(io.metadata.at("max_length"));
  if (io.metadata.count("cond_dim")) o.model.cond_dim = std::stoll(io.metadata.at("cond_dim"));
  o.model.dropout = 0.0;
  o.vocab_size = 61;
  return o;
}

TEST(CrossCheck, BertMatchesHfBertForMaskedLM) {
  const auto io = load_safetensors(fixture("bert_hf_io.safetensors"));
  const auto weights = load_safetensors(fixture("bert_hf_weights.safetensors"));
  auto model = make_backbone(options_from(io, "bert"));
  load_named_tensors(*model, weights.tensors, "bert_hf_weights.safetensors",
                     {"cls.predictions.decoder.weight", "cls.predictions.decoder.bias"});
  model->eval();
  const at::Tensor mask = io.tensors.at("mask");
  const at::Tensor logits = model->forward(io.tensors.at("ids"), at::Tensor(), mask);
  const at::Tensor expected = io.tensors.at("logits");
  ASSERT_EQ(logits.sizes(), expected.sizes());
  // HF computes padded query rows too; compare every real position.
  const at::Tensor diff = (logits - expected).abs().masked_select(mask.unsqueeze(-1)).max();
  EXPECT_LT(diff.item<float>(), 1e-5) << "max |Δ| " << diff.item<float>();
  EXPECT_GT(expected.abs().max().item<float>(), 1.0f);  // the fixture is not trivially small
}

TEST(CrossCheck, LayerwiseTimeEmbeddingMatchesDiffusionBertOnHfBert) {
  const auto io = load_safetensors(fixture("bert_lte_io.safetensors"));
  const auto weights = load_safetensors(fixture("bert_lte_weights.safetensors"));
  auto options = options_from(io, "bert");
  options.model.time_conditioning = "layerwise";
  options.steps = std::stoll(io.metadata.at("T"));
  auto model = make_backbone(options);
  load_named_tensors(*model, weights.tensors, "bert_lte_weights.safetensors",
                     {"cls.predictions.decoder.weight", "cls.predictions.decoder.bias"});
  model->eval();
  const at::Tensor mask = io.tensors.at("mask");
  const at::Tensor logits = model->forward(io.tensors.at("ids"), io.tensors.at("step"), mask);
  const at::Tensor diff = (logits - io.tensors.at("logits")).abs().masked_select(mask.unsqueeze(-1)).max();
  EXPECT_LT(diff.item<float>(), 1e-5) << "max |Δ| " << diff.item<float>();
}

TEST(CrossCheck, DitMatchesTheMdlmTranscription) {
  const auto io = load_safetensors(fixture("dit_io.safetensors"));
  const auto weights = load_safetensors(fixture("dit_weights.safetensors"));
  for (bool causal : {false, true}) {
    auto options = options_from(io, "dit");
    options.model.time_conditioning = "adaln";
    options.causal = causal;
    auto model = make_backbone(options);
    load_named_tensors(*model, weights.tensors, "dit_weights.safetensors");
    model->eval();
    const at::Tensor mask = io.tensors.at("mask");
    const at::Tensor logits = model->forward(io.tensors.at("ids"), io.tensors.at("sigma"), mask);
    const at::Tensor expected = io.tensors.at(causal ? "causal_logits" : "logits");
    const at::Tensor diff = (logits - expected).abs().masked_select(mask.unsqueeze(-1)).max();
    EXPECT_LT(diff.item<float>(), 1e-5) << (causal ? "causal" : "bidirectional") << " max |Δ| " << diff.item<float>();
  }
}

TEST(CrossCheck, WeightLoadingReportsMissingAndUnexpectedTensors) {
  const auto io = load_safetensors(fixture("bert_hf_io.safetensors"));
  auto weights = load_safetensors(fixture("bert_hf_weights.safetensors")).tensors;
  auto model = make_backbone(options_from(io, "bert"));
  EXPECT_THROW(load_named_tensors(*model, weights, "w"), Error);  // decoder names not ignored
  weights.erase("bert.embeddings.LayerNorm.weight");
  EXPECT_THROW(load_named_tensors(*model, weights, "w", {"cls.predictions.decoder.weight", "cls.predictions.decoder.bias"}),
               Error);
}

struct LossFixture {
  SafetensorsFile f;
  Batch batch;
  at::Tensor logits;
  double get(const std::string& name) const { return f.tensors.at(name).to(torch::kFloat64).item<double>(); }
};

LossFixture load_losses() {
  LossFixture lf;
  lf.f = load_safetensors(fixture("losses.safetensors"));
  lf.batch.tokens = lf.f.tensors.at("x0");
  lf.batch.pad_mask = lf.f.tensors.at("pad_mask");
  lf.logits = lf.f.tensors.at("logits");
  return lf;
}

ObjectiveContext loss_context(const LossFixture& lf, const std::string& objective, const std::string& schedule,
                              std::int64_t T) {
  ObjectiveContext c;
  c.diffusion.objective = objective;
  c.diffusion.schedule = schedule;
  c.diffusion.T = T;
  c.diffusion.eps = std::stod(lf.f.metadata.at("eps"));
  c.diffusion.hybrid_lambda = std::stod(lf.f.metadata.at("hybrid_lambda"));
  c.diffusion.spindle_lambda = std::stod(lf.f.metadata.at("spindle_lambda"));
  c.vocab_size = 61;
  c.token_weights = lf.f.tensors.at("token_weights");
  return c;
}

void expect_loss(const LossFixture& lf, const ObjectiveContext& ctx, const at::Tensor& t, const std::string& key,
                 bool bound = true) {
  const auto objective = make_objective(ctx);
  Noised n;
  n.x_t = lf.f.tensors.at("x_t");
  n.masked = lf.f.tensors.at("masked");
  n.t = t;
  n.cond = torch::zeros({3});
  const LossOutput out = objective->loss(lf.logits, lf.batch, n);
  EXPECT_NEAR(out.loss.item<double>(), lf.get(key + "_loss"), 1e-5 * std::max(1.0, lf.get(key + "_loss"))) << key;
  if (bound) EXPECT_NEAR(out.nelbo_sum.item<double>(), lf.get(key + "_nelbo"), 1e-4 * lf.get(key + "_nelbo")) << key;
  EXPECT_EQ(out.tokens.item<std::int64_t>(), lf.batch.pad_mask.sum().item<std::int64_t>());
}

TEST(CrossCheck, LossesMatchTheReferenceFormulas) {
  const LossFixture lf = load_losses();
  const std::int64_t T = std::stoll(lf.f.metadata.at("T"));
  const at::Tensor k = lf.f.tensors.at("k");
  expect_loss(lf, loss_context(lf, "mdlm", "loglinear", 0), lf.f.tensors.at("t_cont"), "mdlm");
  expect_loss(lf, loss_context(lf, "mdlm", "d3pm", T), k / T, "mdlm_discrete");
  expect_loss(lf, loss_context(lf, "d3pm", "d3pm", T), k / T, "d3pm");
  expect_loss(lf, loss_context(lf, "diffusionbert", "spindle", T), k / T, "diffusionbert");
  expect_loss(lf, loss_context(lf, "mlm", "loglinear", 0), lf.f.tensors.at("t_cont"), "mlm", false);
  const auto ar = make_objective(loss_context(lf, "ar", "loglinear", 0));
  auto gen = at::detail::createCPUGenerator(0);
  const LossOutput out = ar->loss(lf.logits, lf.batch, ar->corrupt(lf.batch, gen));
  EXPECT_NEAR(out.loss.item<double>(), lf.get("ar_loss"), 1e-5);
  EXPECT_NEAR(out.nelbo_sum.item<double>(), lf.get("ar_nelbo"), 1e-4 * lf.get("ar_nelbo"));
}

// One step k → k − s of the ELBO's s-step chain (`eval ppl --stride s`,
// chain mode) against the full-categorical KL of the reference posterior.
TEST(CrossCheck, ElboChainStepsMatchTheReferenceKl) {
  const LossFixture lf = load_losses();
  const std::int64_t T = std::stoll(lf.f.metadata.at("T")), s = std::stoll(lf.f.metadata.at("stride"));
  const at::Tensor k = lf.f.tensors.at("k");
  auto chain_nelbo = [&](const std::string& objective, const std::string& schedule) {
    Noised n;
    n.x_t = lf.f.tensors.at("x_t");
    n.masked = lf.f.tensors.at("masked");
    n.t = k / T;
    n.t_prev = (k - s).clamp_min(0) / T;
    n.cond = torch::zeros({3});
    return make_objective(loss_context(lf, objective, schedule, T))->loss(lf.logits, lf.batch, n).nelbo_sum.item<double>();
  };
  const double d3pm = lf.get("d3pm_chain_nelbo"), dbert = lf.get("diffusionbert_chain_nelbo");
  EXPECT_NEAR(chain_nelbo("d3pm", "d3pm"), d3pm, 1e-4 * d3pm);
  EXPECT_NEAR(chain_nelbo("diffusionbert", "spindle"), dbert, 1e-4 * dbert);
  // MDLM's discrete-time loss has the same absorbing KL on the masked positions.
  EXPECT_NEAR(chain_nelbo("mdlm", "d3pm"), d3pm, 1e-4 * d3pm);
  // The chain's terms differ from T × the one-step terms: the check can fail.
  EXPECT_GT(std::abs(d3pm - lf.get("d3pm_nelbo")), 0.1 * d3pm);
}

}  // namespace
}  // namespace unmask
