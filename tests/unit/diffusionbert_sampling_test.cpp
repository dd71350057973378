// DiffusionBERT sampling. Ancestral sampling of a spindle model follows the per-token
// reverse posterior: on a model whose predictions are known, positions that
// predict frequent tokens are revealed earlier than positions that predict
// rare ones, and after step n the share still masked is exactly 1 − α^i at
// that step's time for each kind of position; with λ = 0 both kinds follow
// the mean curve and no order appears. `semi_ar`'s inner ancestral follows it too.
// `--filter reverse` (DiffusionBERT's predict.py decoding) is the same
// distribution at temperature 1 and keeps positions masked until the last
// steps at temperature 0.1.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "unmask/diffusion/objective.h"
#include "unmask/diffusion/spindle.h"
#include "unmask/sampling/sampler.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

constexpr std::int64_t kVocab = 20, kLength = 33, kT = 32;

// Predicts one fixed token per position, whatever the canvas and the time:
// position l (≥ 1) predicts a frequent token (5..9) when l is odd, a rare
// one (10..19) when l is even. Logit 30 makes the draw that token.
class FixedPredictions : public BackboneImpl {
 public:
  FixedPredictions() : BackboneImpl(options()) {
    at::Tensor table = torch::zeros({kLength, kVocab});  // (L, V)
    for (std::int64_t l = 1; l < kLength; ++l) table[l][target(l)] = 30.0;
    table_ = register_parameter("table", table, false);
  }
  static std::int64_t target(std::int64_t l) { return l % 2 == 1 ? 5 + (l / 2) % 5 : 10 + (l / 2) % 10; }
  at::Tensor forward(const at::Tensor& x, const at::Tensor&, const at::Tensor&) override {
    return table_.narrow(0, 0, x.size(1)).unsqueeze(0).expand({x.size(0), x.size(1), kVocab});  // (B, L, V)
  }

 private:
  static BackboneOptions options() {
    BackboneOptions o;
    o.vocab_size = kVocab;
    o.model.max_length = kLength;
    return o;
  }
  at::Tensor table_;
};

at::Tensor token_weights() {
  std::vector<std::int64_t> counts(kVocab, 0);
  for (std::int64_t v = 5; v < 10; ++v) counts[static_cast<std::size_t>(v)] = 1000000;
  for (std::int64_t v = 10; v < kVocab; ++v) counts[static_cast<std::size_t>(v)] = 1;
  counts[2] = 50000;  // BOS
  return spindle_token_weights(counts, 0);
}

std::unique_ptr<Objective> spindle_objective(double lambda, const at::Tensor& weights) {
  ObjectiveContext ctx;
  ctx.vocab_size = kVocab;
  ctx.diffusion.objective = "diffusionbert";
  ctx.diffusion.schedule = "spindle";
  ctx.diffusion.T = kT;
  ctx.diffusion.spindle_lambda = lambda;
  ctx.token_weights = weights;
  return make_objective(ctx);
}

struct Order {
  at::Tensor frequent, rare;  // (N, L/2) reveal steps of each kind of position
};

Order sample_order(const Objective& objective, const std::string& sampler, std::int64_t num,
                   const std::string& filter = "x0", double temperature = 1.0, std::int64_t top_k = 0) {
  FixedPredictions model;
  SampleRequest r;
  r.filter = filter;
  r.picker.temperature = temperature;
  r.picker.top_k = top_k;
  r.sampler = parse_sampler(sampler);
  r.num = num;
  r.length = kLength;
  r.steps = kT;
  r.T = kT;
  r.seed = 11;
  r.block_size = kLength - 1;  // semi_ar: one block, so the step grid is the same
  const SampleResult out = run_sampler(model, objective, SpecialTokens{}, r);
  const at::Tensor odd = torch::arange(1, kLength, 2), even = torch::arange(2, kLength, 2);
  EXPECT_TRUE(torch::equal(out.ids.select(1, 1), torch::full({num}, FixedPredictions::target(1), torch::kLong)));
  return {out.reveal_step.index_select(1, odd), out.reveal_step.index_select(1, even)};
}

// The share of positions still masked after step n is 1 − α^i((T − n)/T),
// since the reveal probabilities telescope: Π_k (1 − α_{k−1})/(1 − α_k).
void expect_marginals(const Objective& objective, const Order& o) {
  at::Tensor canvas = torch::empty({1, kLength}, torch::kLong);  // x̂0: what the model predicts everywhere
  canvas[0][0] = 2;
  for (std::int64_t l = 1; l < kLength; ++l) canvas[0][l] = FixedPredictions::target(l);
  for (std::int64_t n : {4, 8, 16, 24, 28}) {
    const at::Tensor t = torch::full({1}, static_cast<double>(kT - n) / kT, torch::kFloat64);
    const at::Tensor alpha = objective.schedule()->token_alpha(t, canvas, canvas != 0).to(torch::kFloat64)[0];  // (L)
    for (const bool frequent : {true, false}) {
      const at::Tensor& steps = frequent ? o.frequent : o.rare;
      const double p = 1 - alpha[frequent ? 1 : 2].item<double>();
      const double count = static_cast<double>(steps.numel());
      const double observed = (steps > n).sum().item<double>() / count;
      EXPECT_NEAR(observed, p, 5 * std::sqrt(p * (1 - p) / count) + 1e-9) << "step " << n << (frequent ? " frequent" : " rare");
    }
  }
}

double mean_step(const at::Tensor& steps) { return steps.to(torch::kFloat64).mean().item<double>(); }

TEST(SpindleSampling, FrequentTokensAreRevealedEarlierThanRareOnes) {
  const auto objective = spindle_objective(0.3, token_weights());
  const Order o = sample_order(*objective, "ancestral", 400);
  EXPECT_LT(mean_step(o.frequent) + 3.0, mean_step(o.rare)) << mean_step(o.frequent) << " vs " << mean_step(o.rare);
  expect_marginals(*objective, o);
}

TEST(SpindleSampling, NoOrderWithLambdaZero) {
  const auto objective = spindle_objective(0.0, token_weights());
  const Order o = sample_order(*objective, "ancestral", 400);
  // 400 × 16 positions of each kind, reveal steps spread over 1..32 (sd ≈ 9.2):
  // the standard error of the difference of means is ≈ 0.16.
  EXPECT_NEAR(mean_step(o.frequent), mean_step(o.rare), 0.8);
  expect_marginals(*objective, o);
}

TEST(SpindleSampling, SemiArInnerAncestralFollowsTheSpindle) {
  const auto objective = spindle_objective(0.3, token_weights());
  const Order o = sample_order(*objective, "semi_ar", 400);
  EXPECT_LT(mean_step(o.frequent) + 3.0, mean_step(o.rare));
  expect_marginals(*objective, o);
}

TEST(SpindleSampling, ReverseFilterAtTemperatureOneIsTheSameDistribution) {
  const auto objective = spindle_objective(0.3, token_weights());
  const Order o = sample_order(*objective, "ancestral", 400, "reverse");
  EXPECT_LT(mean_step(o.frequent) + 3.0, mean_step(o.rare));
  expect_marginals(*objective, o);
}

// At temperature 0.1 a position is revealed only once r·p_θ(x̂0) outweighs the
// 1 − r of staying masked, which r ≈ 1/k reaches in the last steps only; the
// same temperature on the x0 prediction leaves the reveal times as they were.
TEST(SpindleSampling, ReverseFilterAtLowTemperatureRevealsLate) {
  const auto objective = spindle_objective(0.3, token_weights());
  const Order late = sample_order(*objective, "ancestral", 50, "reverse", 0.1, 5);
  const Order usual = sample_order(*objective, "ancestral", 50, "x0", 0.1, 5);
  const double late_mean = (mean_step(late.frequent) + mean_step(late.rare)) / 2;
  const double usual_mean = (mean_step(usual.frequent) + mean_step(usual.rare)) / 2;
  EXPECT_GT(late_mean, 0.9 * kT) << late_mean;
  EXPECT_LT(usual_mean, 0.7 * kT) << usual_mean;
}

TEST(SpindleSampling, ReverseFilterNeedsAnAncestralStep) {
  const auto objective = spindle_objective(0.3, token_weights());
  FixedPredictions model;
  SampleRequest r;
  r.length = 8;
  r.steps = 4;
  r.T = kT;
  r.filter = "reverse";
  for (const char* sampler : {"confidence", "first_hitting"}) {
    r.sampler = parse_sampler(sampler);
    EXPECT_THROW(run_sampler(model, *objective, SpecialTokens{}, r), Error) << sampler;
  }
  r.sampler = SamplerId::semi_ar;
  r.inner = SamplerId::confidence;
  EXPECT_THROW(run_sampler(model, *objective, SpecialTokens{}, r), Error);
  r.filter = "x1";
  r.sampler = SamplerId::ancestral;
  EXPECT_THROW(run_sampler(model, *objective, SpecialTokens{}, r), Error);
}

}  // namespace
}  // namespace unmask
