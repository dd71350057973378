// Backbones: shapes for every time conditioning, the HF parameter layout,
// padding never leaking into real positions, zero-initialised DiT output, and
// causal attention never looking forward (gradient check).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "torch_test_util.h"
#include "unmask/model/backbone.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

BackboneOptions tiny(const std::string& backbone, const std::string& time = "none", bool causal = false) {
  return test::tiny_backbone(backbone, time, causal);
}

TEST(Backbone, ShapesForEveryTimeConditioning) {
  torch::manual_seed(0);
  const at::Tensor x = torch::randint(5, 50, {3, 12});
  const at::Tensor cond = torch::tensor({0.0f, 17.0f, 99.0f});
  for (const auto& [backbone, time] : std::vector<std::pair<std::string, std::string>>{
           {"bert", "none"}, {"bert", "layerwise"}, {"bert", "prefix"}, {"dit", "none"}, {"dit", "adaln"}}) {
    auto model = make_backbone(tiny(backbone, time));
    if (backbone == "dit") {  // the zero-initialised output would hide the time input
      torch::NoGradGuard guard;
      for (auto& p : model->parameters()) p.add_(torch::randn_like(p) * 0.1);
    }
    const at::Tensor logits = model->forward(x, cond, at::Tensor());
    EXPECT_EQ(logits.sizes(), (std::vector<std::int64_t>{3, 12, 50})) << backbone << "/" << time;
    EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
    if (time != "none") {
      // The time input changes the output.
      const at::Tensor other = model->forward(x, cond + 1, at::Tensor());
      EXPECT_FALSE(torch::allclose(logits, other)) << backbone << "/" << time;
    }
  }
}

TEST(Backbone, BertUsesTheHfParameterLayout) {
  auto model = make_backbone(tiny("bert"));
  std::set<std::string> names;
  for (const auto& p : model->named_parameters()) names.insert(p.key());
  for (const char* want : {"bert.embeddings.word_embeddings.weight", "bert.embeddings.position_embeddings.weight",
                           "bert.embeddings.token_type_embeddings.weight", "bert.embeddings.LayerNorm.weight",
                           "bert.encoder.layer.1.attention.self.query.weight",
                           "bert.encoder.layer.0.attention.output.dense.bias",
                           "bert.encoder.layer.0.attention.output.LayerNorm.weight",
                           "bert.encoder.layer.0.intermediate.dense.weight", "bert.encoder.layer.0.output.dense.weight",
                           "bert.encoder.layer.0.output.LayerNorm.bias", "cls.predictions.transform.dense.weight",
                           "cls.predictions.transform.LayerNorm.weight", "cls.predictions.bias"})
    EXPECT_TRUE(names.count(want)) << want;
  EXPECT_FALSE(names.count("cls.predictions.decoder.weight"));  // tied
  auto untied = tiny("bert");
  untied.model.tie_embeddings = false;
  std::set<std::string> untied_names;
  for (const auto& p : make_backbone(untied)->named_parameters()) untied_names.insert(p.key());
  EXPECT_TRUE(untied_names.count("cls.predictions.decoder.weight"));
}

TEST(Backbone, PaddingDoesNotLeakIntoRealPositions) {
  torch::manual_seed(1);
  for (const std::string backbone : {"bert", "dit"}) {
    auto model = make_backbone(tiny(backbone));
    model->eval();
    at::Tensor x = torch::randint(5, 50, {2, 10});
    at::Tensor mask = torch::ones({2, 10}, torch::kBool);
    mask[1].narrow(0, 6, 4).fill_(false);
    const at::Tensor a = model->forward(x, at::Tensor(), mask);
    at::Tensor y = x.clone();
    y[1].narrow(0, 6, 4).fill_(7);  // different tokens where the mask says padding
    const at::Tensor b = model->forward(y, at::Tensor(), mask);
    EXPECT_TRUE(torch::allclose(a[1].narrow(0, 0, 6), b[1].narrow(0, 0, 6), 1e-5, 1e-6)) << backbone;
    EXPECT_TRUE(torch::allclose(a[0], b[0])) << backbone;
  }
}

TEST(Backbone, ZeroInitialisedDitPredictsUniformly) {
  auto model = make_backbone(tiny("dit", "adaln"));
  const at::Tensor logits = model->forward(torch::randint(5, 50, {2, 8}), torch::tensor({0.3f, 2.0f}), at::Tensor());
  EXPECT_EQ(logits.abs().max().item<float>(), 0.0f);
}

// Gradient of the logits at position i with respect to the embedding rows of
// the tokens at positions j: zero for every j > i in causal mode.
TEST(Backbone, CausalModeNeverAttendsForward) {
  torch::manual_seed(2);
  for (const std::string backbone : {"bert", "dit"}) {
    auto options = tiny(backbone, "none", true);
    options.model.tie_embeddings = false;  // a tied decoder would route gradient to every row
    auto model = make_backbone(options);
    if (backbone == "dit") {  // give the zero-initialised output layer weights
      torch::NoGradGuard guard;
      for (auto& p : model->parameters()) p.add_(torch::randn_like(p) * 0.1);
    }
    const at::Tensor x = torch::randperm(40).narrow(0, 0, 12).add(5).unsqueeze(0);  // distinct tokens
    const std::string embed = backbone == "bert" ? "bert.embeddings.word_embeddings.weight" : "vocab_embed.embedding";
    at::Tensor weight = model->named_parameters()[embed];
    for (std::int64_t i : {0, 5, 10}) {
      model->zero_grad();
      model->forward(x, at::Tensor(), at::Tensor())[0][i].sum().backward();
      const at::Tensor grad = weight.grad();
      for (std::int64_t j = 0; j < 12; ++j) {
        const double g = grad[x[0][j].item<std::int64_t>()].abs().sum().item<double>();
        if (j > i) EXPECT_EQ(g, 0.0) << backbone << " position " << i << " saw " << j;
        else EXPECT_GT(g, 0.0) << backbone << " position " << i << " ignores " << j;
      }
    }
    // And the non-causal model does look forward.
    auto bidir = make_backbone(tiny(backbone));
    if (backbone == "dit") {
      torch::NoGradGuard guard;
      for (auto& p : bidir->parameters()) p.add_(torch::randn_like(p) * 0.1);
    }
    const at::Tensor a = bidir->forward(x, at::Tensor(), at::Tensor());
    at::Tensor y = x.clone();
    y[0][11] = 3;
    EXPECT_FALSE(torch::allclose(a[0][0], bidir->forward(y, at::Tensor(), at::Tensor())[0][0]));
  }
}

TEST(Backbone, BadOptionsAreErrors) {
  EXPECT_THROW(make_backbone(tiny("gpt")), Error);
  EXPECT_THROW(make_backbone(tiny("bert", "adaln")), Error);
  auto o = tiny("bert", "prefix");
  o.steps = 0;
  EXPECT_THROW(make_backbone(o), Error);
  o = tiny("dit");
  o.vocab_size = 0;
  EXPECT_THROW(make_backbone(o), Error);
}

}  // namespace
}  // namespace unmask
