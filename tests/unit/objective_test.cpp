// Objectives: antithetic times, SUBS (no loss or gradient at unmasked
// positions, [MASK] never predicted), the (V−1)^{1−ε} perplexity of a uniform
// model, the D3PM sum over steps against its sampled-t estimator, masking
// rules of mlm / roberta_diffusion, and loss reduction on one batch.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "test_util.h"
#include "torch_test_util.h"
#include "unmask/data/loader.h"
#include "unmask/diffusion/masking.h"
#include "unmask/diffusion/objective.h"
#include "unmask/diffusion/spindle.h"
#include "unmask/model/backbone.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

ObjectiveContext context(const std::string& objective, const std::string& schedule = "loglinear", std::int64_t T = 0) {
  ObjectiveContext c;
  c.diffusion.objective = objective;
  c.diffusion.schedule = schedule;
  c.diffusion.T = T;
  c.vocab_size = 50;
  return c;
}

Batch random_batch(std::int64_t B, std::int64_t L, std::int64_t V) {
  Batch b;
  b.tokens = torch::randint(5, V, {B, L});
  b.pad_mask = torch::ones({B, L}, torch::kBool);
  b.pad_mask[B - 1].narrow(0, L - 3, 3).fill_(false);
  b.tokens.masked_fill_(b.pad_mask.logical_not(), 0);
  return b;
}

TEST(Objective, AntitheticTimesTakeOneDrawPerStratum) {
  auto gen = at::detail::createCPUGenerator(7);
  const double eps = 1e-3;
  const at::Tensor t = sample_times(64, true, eps, gen, torch::kCPU);
  const at::Tensor u = (t - eps) / (1 - eps);
  std::vector<int> per_stratum(64, 0);
  for (int i = 0; i < 64; ++i) ++per_stratum[static_cast<int>(std::floor(u[i].item<double>() * 64))];
  for (int n : per_stratum) EXPECT_EQ(n, 1);
  EXPECT_GE(t.min().item<double>(), eps);
  EXPECT_LT(t.max().item<double>(), 1.0);
}

TEST(Objective, SubsGivesNoLossOrGradientAtUnmaskedPositionsAndNeverPredictsMask) {
  torch::manual_seed(3);
  auto objective = make_objective(context("mdlm"));
  auto gen = at::detail::createCPUGenerator(1);
  const Batch batch = random_batch(4, 16, 50);
  const Noised n = objective->corrupt(batch, gen);
  ASSERT_TRUE(n.masked.any().item<bool>());
  ASSERT_TRUE(n.masked.logical_not().logical_and(batch.pad_mask).any().item<bool>());
  EXPECT_TRUE(torch::equal(n.x_t.masked_select(n.masked), torch::full({n.masked.sum().item<std::int64_t>()}, 4L)));
  EXPECT_TRUE(torch::equal(n.x_t.masked_select(n.masked.logical_not()), batch.tokens.masked_select(n.masked.logical_not())));
  EXPECT_FALSE(n.masked.logical_and(batch.pad_mask.logical_not()).any().item<bool>());  // padding never masked
  at::Tensor logits = torch::randn({4, 16, 50}, torch::requires_grad());
  objective->loss(logits, batch, n).loss.backward();
  const at::Tensor grad = logits.grad();
  const at::Tensor unmasked = n.masked.logical_not();
  EXPECT_EQ(grad.index({unmasked}).abs().sum().item<double>(), 0.0);
  EXPECT_GT(grad.index({n.masked}).abs().sum().item<double>(), 0.0);
  EXPECT_EQ(grad.select(2, 4).abs().sum().item<double>(), 0.0);  // [MASK] logit: no gradient
  const at::Tensor lp = log_probs_without_mask(logits.detach(), 4);
  EXPECT_TRUE(std::isinf(lp[0][0][4].item<float>()));
}

// Invariant 3: uniform predictions over the V − 1 non-mask tokens give
// −log p = ln(V − 1) per masked token, NELBO (1−ε)·N·ln(V − 1) in expectation
// and ELBO perplexity (V − 1)^{1−ε}.
TEST(Objective, ZeroInitialisedDitHasPerplexityVMinusOneToTheOneMinusEps) {
  auto objective = make_objective(context("mdlm"));
  auto model = make_backbone(test::tiny_backbone("dit"));
  auto gen = at::detail::createCPUGenerator(5);
  Batch batch = random_batch(32, 24, 50);
  batch.pad_mask.fill_(true);
  double nelbo = 0, tokens = 0;
  for (int r = 0; r < 400; ++r) {
    const Noised n = objective->corrupt(batch, gen);
    const LossOutput out = objective->loss(model->forward(n.x_t, n.cond, batch.pad_mask), batch, n);
    // Exactly: each masked token costs ln(V − 1), weighted by 1/t.
    const double expected = ((n.masked.sum(1).to(torch::kFloat64) / n.t).sum() * std::log(49.0)).item<double>();
    ASSERT_NEAR(out.nelbo_sum.item<double>(), expected, 1e-3 * expected + 1e-6);
    nelbo += out.nelbo_sum.item<double>();
    tokens += out.tokens.item<double>();
  }
  const double eps = 1e-3;
  EXPECT_NEAR(nelbo / tokens, (1 - eps) * std::log(49.0), 0.01 * std::log(49.0));
  EXPECT_NEAR(std::exp(nelbo / tokens), std::pow(49.0, 1 - eps), 0.05 * 49);
}

// Σ_k E[L_k] computed step by step equals the mean of the objective's
// sampled-step estimate T·L_k (both by Monte Carlo over masks, on a fixed model).
TEST(Objective, D3pmSumOverStepsMatchesTheSampledStepEstimator) {
  torch::manual_seed(11);
  const std::int64_t T = 6;
  auto ctx = context("d3pm", "d3pm", T);
  ctx.diffusion.antithetic = false;
  auto objective = make_objective(ctx);
  at::Tensor logits = torch::randn({1, 12, 50}) * 2;
  const at::Tensor lp = log_probs_without_mask(logits, 4);
  Batch batch = random_batch(1, 12, 50);
  batch.pad_mask.fill_(true);
  const at::Tensor nll = -lp.gather(-1, batch.tokens.unsqueeze(-1)).squeeze(-1)[0];  // (L)
  // Exact expectation of L_k: each token is masked w.p. k/T and then costs (1/k)·nll.
  double full_sum = 0;
  for (std::int64_t k = 1; k <= T; ++k) full_sum += (static_cast<double>(k) / T) * (1.0 / k) * nll.sum().item<double>();
  auto gen = at::detail::createCPUGenerator(9);
  double mean = 0, mean_sq = 0;
  const int draws = 4000;
  Batch big;
  big.tokens = batch.tokens.expand({draws, 12}).contiguous();
  big.pad_mask = batch.pad_mask.expand({draws, 12}).contiguous();
  const Noised n = objective->corrupt(big, gen);
  const LossOutput out = objective->loss(logits.expand({draws, 12, 50}), big, n);
  // Per-row estimates, recomputed from the masks the objective drew.
  const at::Tensor k = n.t * T;
  const at::Tensor per_row = (n.masked.to(torch::kFloat64) * nll.to(torch::kFloat64)).sum(1) / k * T;
  EXPECT_NEAR(out.nelbo_sum.item<double>(), per_row.sum().item<double>(), 1e-3 * per_row.sum().item<double>());
  mean = per_row.mean().item<double>();
  mean_sq = per_row.pow(2).mean().item<double>();
  const double se = std::sqrt((mean_sq - mean * mean) / draws);
  EXPECT_NEAR(mean, full_sum, 4 * se) << "full " << full_sum << " estimate " << mean << " ± " << se;
  // Every step was drawn.
  EXPECT_EQ(std::get<0>(at::_unique(k.round())).numel(), T);
}

TEST(Objective, MlmAndRobertaDiffusionMaskingRules) {
  torch::manual_seed(4);
  auto gen = at::detail::createCPUGenerator(2);
  Batch batch = random_batch(64, 40, 50);
  auto mlm = make_objective(context("mlm"));
  const Noised n = mlm->corrupt(batch, gen);
  const double ratio = n.masked.sum().item<double>() / batch.pad_mask.sum().item<double>();
  EXPECT_NEAR(ratio, 0.15, 0.02);
  auto ctx = context("roberta_diffusion");
  ctx.diffusion.prompt_length = 16;
  auto roberta = make_objective(ctx);
  std::set<long> ratios;
  for (int r = 0; r < 60; ++r) {
    const Noised m = roberta->corrupt(batch, gen);
    EXPECT_FALSE(m.masked.narrow(1, 0, 16).any().item<bool>());  // prompt prefix never masked
    const double rr = m.t[0].item<double>();
    ratios.insert(std::lround(rr * 10));
    const double seen = m.masked.narrow(1, 16, 24).sum().item<double>() /
                        batch.pad_mask.narrow(1, 16, 24).sum().item<double>();
    EXPECT_NEAR(seen, rr, 0.07);
  }
  EXPECT_EQ(ratios, (std::set<long>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
}

// Each objective lowers its loss when overfitting one batch of real text.
TEST(Objective, EveryObjectiveLearnsASingleBatch) {
  const auto split = std::make_shared<const ShardedSplit>(test::fortune_data(), "val");
  LoaderOptions lo;
  lo.length = 24;
  lo.batch_size = 8;
  DataLoader loader(split, lo);
  const Batch batch = loader.next();
  const auto counts = count_tokens(*split);
  for (const auto& [objective, backbone, schedule, T] : std::vector<std::tuple<std::string, std::string, std::string, int>>{
           {"mdlm", "dit", "loglinear", 0}, {"d3pm", "bert", "d3pm", 50}, {"diffusionbert", "bert", "spindle", 50},
           {"mlm", "bert", "loglinear", 0}, {"roberta_diffusion", "bert", "loglinear", 0}, {"ar", "dit", "loglinear", 0}}) {
    torch::manual_seed(0);
    ObjectiveContext ctx = context(objective, schedule, T);
    ctx.vocab_size = 2000;
    ctx.special = split->special();
    ctx.diffusion.prompt_length = 4;
    ctx.token_weights = spindle_token_weights(counts, 0);
    auto obj = make_objective(ctx);
    BackboneOptions o = test::tiny_backbone(backbone);
    o.model.layers = 1;
    o.model.heads = 2;
    o.vocab_size = 2000;
    o.causal = obj->causal();
    o.steps = T;
    auto model = make_backbone(o);
    torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(3e-3));
    auto gen = at::detail::createCPUGenerator(3);
    std::vector<double> losses;
    for (int step = 0; step < 80; ++step) {
      const Noised n = obj->corrupt(batch, gen);
      const LossOutput out = obj->loss(model->forward(n.x_t, n.cond, batch.pad_mask), batch, n);
      opt.zero_grad();
      out.loss.backward();
      opt.step();
      losses.push_back(out.loss.item<double>());
    }
    const double first = (losses[0] + losses[1] + losses[2] + losses[3] + losses[4]) / 5;
    const double last = (losses[75] + losses[76] + losses[77] + losses[78] + losses[79]) / 5;
    EXPECT_LT(last, 0.7 * first) << objective << ": " << first << " -> " << last;
    EXPECT_EQ(obj->name(), objective);
  }
}

TEST(Objective, UnknownOrMismatchedSettingsAreErrors) {
  try {
    make_objective(context("sedd"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown objective 'sedd' (known: ar, bd3lm, d3pm, diffusionbert, mdlm, mlm, "
                                         "roberta_diffusion)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(make_objective(context("d3pm", "d3pm", 0)), Error);           // T < 1
  EXPECT_THROW(make_objective(context("diffusionbert", "d3pm", 10)), Error);  // needs spindle
  EXPECT_THROW(make_objective(context("diffusionbert", "spindle", 10)), Error);  // no token weights
}

}  // namespace
}  // namespace unmask
