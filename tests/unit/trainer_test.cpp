// Trainer pieces: learning-rate schedule values, the EMA update formula, and
// gradient accumulation (2 chunks of B/2 give the gradient of 1 × B).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "torch_test_util.h"
#include "unmask/diffusion/objective.h"
#include "unmask/train/ema.h"
#include "unmask/train/lr_schedule.h"
#include "unmask/train/trainer.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

TEST(Trainer, LearningRateScheduleValues) {
  TrainConfig c;
  c.lr = 1.0;
  c.warmup_steps = 10;
  c.max_steps = 110;
  c.lr_schedule = "constant";
  EXPECT_DOUBLE_EQ(learning_rate(c, 0), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(c, 4), 0.5);
  EXPECT_DOUBLE_EQ(learning_rate(c, 9), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate(c, 100), 1.0);
  c.lr_schedule = "cosine";
  EXPECT_DOUBLE_EQ(learning_rate(c, 10), 1.0);
  EXPECT_NEAR(learning_rate(c, 60), 0.5, 1e-12);
  EXPECT_NEAR(learning_rate(c, 110), 0.0, 1e-12);
  c.lr_schedule = "linear";
  EXPECT_NEAR(learning_rate(c, 35), 0.75, 1e-12);
  EXPECT_NEAR(learning_rate(c, 110), 0.0, 1e-12);
  c.warmup_steps = 0;
  EXPECT_DOUBLE_EQ(learning_rate(c, 0), 1.0);
}

TEST(Trainer, EmaFollowsTheUpdateFormula) {
  auto model = make_backbone(test::tiny_backbone("bert"));
  Ema ema(*model, 0.999);
  const at::Tensor p0 = model->parameters()[0].detach().clone();
  EXPECT_DOUBLE_EQ(ema.current_decay(), 0.1);  // (1 + 0)/(10 + 0)
  {
    torch::NoGradGuard guard;
    for (auto& p : model->parameters()) p.add_(1.0);
  }
  ema.update(*model);
  // shadow = 0.1·p0 + 0.9·(p0 + 1) = p0 + 0.9
  const at::Tensor shadow = ema.state()[0].second;
  EXPECT_TRUE(torch::allclose(shadow, p0 + 0.9, 1e-6, 1e-6));
  EXPECT_DOUBLE_EQ(ema.current_decay(), 2.0 / 11.0);
  for (int i = 0; i < 9000; ++i) ema.update(*model);  // (1 + n)/(10 + n) passes 0.999 at n = 8991
  EXPECT_DOUBLE_EQ(ema.current_decay(), 0.999);  // capped at the configured decay
  // Swapping in and out restores the live weights exactly.
  const at::Tensor live = model->parameters()[0].detach().clone();
  ema.swap_in(*model);
  EXPECT_TRUE(torch::allclose(model->parameters()[0], ema.state()[0].second));
  ema.swap_out(*model);
  EXPECT_TRUE(torch::equal(model->parameters()[0], live));
}

TEST(Trainer, GradientAccumulationEqualsTheWholeBatch) {
  for (const std::string objective : {"mdlm", "mlm", "ar"}) {
    torch::manual_seed(5);
    ObjectiveContext ctx;
    ctx.diffusion.objective = objective;
    ctx.vocab_size = 50;
    const auto obj = make_objective(ctx);
    auto options = test::tiny_backbone("bert", "none", obj->causal());
    auto model = make_backbone(options);
    Batch batch{torch::randint(5, 50, {8, 12}), torch::ones({8, 12}, torch::kBool)};
    batch.pad_mask[7].narrow(0, 5, 7).fill_(false);  // uneven token counts across chunks
    auto gen = at::detail::createCPUGenerator(1);
    const Noised noised = obj->corrupt(batch, gen);
    std::vector<at::Tensor> whole, halves;
    model->zero_grad();
    const GradResult a = accumulate_gradients(*model, *obj, batch, noised, 1, false);
    for (auto& p : model->parameters()) whole.push_back(p.grad().clone());
    model->zero_grad();
    const GradResult b = accumulate_gradients(*model, *obj, batch, noised, 2, false);
    for (auto& p : model->parameters()) halves.push_back(p.grad().clone());
    EXPECT_NEAR(a.loss_sum / a.denominator, b.loss_sum / b.denominator, 1e-6) << objective;
    EXPECT_EQ(a.tokens, b.tokens);
    for (std::size_t i = 0; i < whole.size(); ++i)
      ASSERT_TRUE(torch::allclose(whole[i], halves[i], 1e-5, 1e-7)) << objective << " parameter " << i;
  }
  auto model = make_backbone(test::tiny_backbone("bert"));
  ObjectiveContext ctx;
  ctx.vocab_size = 50;
  const auto obj = make_objective(ctx);
  Batch batch{torch::randint(5, 50, {6, 12}), torch::ones({6, 12}, torch::kBool)};
  auto gen = at::detail::createCPUGenerator(1);
  EXPECT_THROW(accumulate_gradients(*model, *obj, batch, obj->corrupt(batch, gen), 4, false), Error);
}

}  // namespace
}  // namespace unmask
