// The output head at the masked rows only (train.masked_head): for every
// objective whose loss reads only masked positions and every backbone and
// time conditioning, forward_rows gives forward's logits at those rows, and
// one training step gives the same loss and gradients as the full head; an
// objective that reads every position (d3pm's hybrid CE term, ar) keeps it.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_util.h"
#include "torch_test_util.h"
#include "unmask/diffusion/objective.h"
#include "unmask/model/model_loss.h"
#include "unmask/train/trainer.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

struct Case {
  std::string backbone, time, objective, schedule;
  std::int64_t T;
  double hybrid_lambda;
};

std::unique_ptr<Objective> objective_of(const Case& c) {
  ObjectiveContext ctx;
  ctx.vocab_size = 50;
  ctx.diffusion.objective = c.objective;
  if (!c.schedule.empty()) ctx.diffusion.schedule = c.schedule;
  ctx.diffusion.T = c.T;
  ctx.diffusion.hybrid_lambda = c.hybrid_lambda;
  return make_objective(ctx);
}

std::vector<at::Tensor> gradients(BackboneImpl& model, const Objective& obj, const Batch& batch, const Noised& n,
                                  bool masked_head, double& loss) {
  model.zero_grad();
  const GradResult r = accumulate_gradients(model, obj, batch, n, 1, false, nullptr, masked_head);
  loss = r.loss_sum / r.denominator;
  std::vector<at::Tensor> out;
  for (auto& p : model.parameters()) out.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
  return out;
}

TEST(MaskedHead, SameLogitsLossAndGradientsAsTheFullHead) {
  const std::vector<Case> cases = {
      {"bert", "none", "mdlm", "", 0, 0.0},         {"bert", "layerwise", "mdlm", "cosine", 0, 0.0},
      {"bert", "prefix", "d3pm", "d3pm", 100, 0.0}, {"dit", "adaln", "mdlm", "", 0, 0.0},
      {"dit", "none", "mlm", "", 0, 0.0},           {"bert", "none", "roberta_diffusion", "", 0, 0.0},
      {"dit", "adaln", "d3pm", "d3pm", 100, 0.0}};
  for (const Case& c : cases) {
    const std::string name = c.backbone + "/" + c.time + "/" + c.objective;
    torch::manual_seed(3);
    const auto obj = objective_of(c);
    ASSERT_TRUE(obj->masked_rows_only()) << name;
    auto options = test::tiny_backbone(c.backbone, c.time);
    auto model = make_backbone(options);
    {  // adaLN / output weights start at zero in a DiT: make every path count
      torch::NoGradGuard guard;
      for (auto& p : model->parameters()) p.add_(torch::randn_like(p) * 0.02);
    }
    Batch batch{torch::randint(5, 50, {6, 16}), torch::ones({6, 16}, torch::kBool), true};
    batch.pad_mask[5].narrow(0, 10, 6).fill_(false);
    auto gen = at::detail::createCPUGenerator(7);
    const Noised n = obj->corrupt(batch, gen);
    const at::Tensor rows = n.masked.reshape({-1}).nonzero().squeeze(1);  // (M)
    ASSERT_GT(rows.numel(), 5) << name;
    ASSERT_LT(rows.numel(), 6 * 16) << name;
    model->eval();
    {
      torch::NoGradGuard guard;
      const at::Tensor full = model->forward(n.x_t, n.cond, batch.pad_mask).flatten(0, 1).index_select(0, rows);
      const at::Tensor part = model->forward_rows(n.x_t, n.cond, batch.pad_mask, rows);
      ASSERT_EQ(part.sizes(), full.sizes()) << name;
      EXPECT_TRUE(torch::allclose(part, full, 1e-5, 1e-5)) << name << ": max diff " << (part - full).abs().max().item<double>();
    }
    double loss_full = 0, loss_rows = 0;
    const auto g_full = gradients(*model, *obj, batch, n, false, loss_full);
    const auto g_rows = gradients(*model, *obj, batch, n, true, loss_rows);
    EXPECT_NEAR(loss_rows, loss_full, 1e-6 * std::max(1.0, std::abs(loss_full))) << name;
    bool some_nonzero = false;
    for (std::size_t i = 0; i < g_full.size(); ++i) {
      some_nonzero = some_nonzero || g_full[i].abs().max().item<double>() > 0;
      EXPECT_TRUE(torch::allclose(g_rows[i], g_full[i], 1e-4, 1e-6))
          << name << " parameter " << i << ": max diff " << (g_rows[i] - g_full[i]).abs().max().item<double>();
    }
    EXPECT_TRUE(some_nonzero) << name;
  }
}

TEST(MaskedHead, ObjectivesThatReadEveryPositionKeepTheFullHead) {
  const auto hybrid = objective_of({"bert", "none", "d3pm", "d3pm", 100, 0.01});
  EXPECT_FALSE(hybrid->masked_rows_only());
  const auto ar = objective_of({"bert", "none", "ar", "", 0, 0.0});
  EXPECT_FALSE(ar->masked_rows_only());
  const std::string err = test::error_of([&] { hybrid->loss_rows(torch::zeros({1, 50}), Batch{}, Noised{}); });
  EXPECT_NE(err.find("every position"), std::string::npos) << err;
  // With train.masked_head on, model_loss still gives the full loss for them.
  torch::manual_seed(3);
  auto model = make_backbone(test::tiny_backbone("bert"));
  Batch batch{torch::randint(5, 50, {4, 12}), torch::ones({4, 12}, torch::kBool)};
  auto gen = at::detail::createCPUGenerator(1);
  const Noised n = hybrid->corrupt(batch, gen);
  const LossOutput a = model_loss(*model, *hybrid, batch, n, at::Tensor(), false, true);
  const LossOutput b = hybrid->loss(model->forward(n.x_t, n.cond, at::Tensor()), batch, n);
  EXPECT_NEAR(a.loss.item<double>(), b.loss.item<double>(), 1e-6);
}

}  // namespace
}  // namespace unmask
