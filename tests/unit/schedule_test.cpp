// Noise schedules against their formulas (docs/BACKGROUND.md, identities 1, 2, 4).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "test_util.h"
#include "unmask/data/dataset.h"
#include "unmask/diffusion/schedule.h"
#include "unmask/diffusion/spindle.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

DiffusionConfig with_schedule(const std::string& name, std::int64_t T = 0) {
  DiffusionConfig c;
  c.schedule = name;
  c.T = T;
  return c;
}

at::Tensor grid() { return torch::linspace(0.01, 0.99, 99, torch::kFloat64); }

TEST(Schedule, LogLinearMaskProbabilityAndWeight) {
  const double eps = 1e-3;
  const auto s = make_schedule(with_schedule("loglinear"));
  const at::Tensor t = grid();
  // Invariant 1: mask probability (1 − ε)t; weight 1/t; MDLM's dσ/dt / expm1(σ) is the same.
  EXPECT_TRUE(torch::allclose(1 - s->alpha(t), (1 - eps) * t, 0, 1e-15));
  EXPECT_TRUE(torch::allclose(s->loss_weight(t), 1 / t, 0, 1e-12));
  const at::Tensor sigma = -torch::log1p(-(1 - eps) * t);
  const at::Tensor dsigma = (1 - eps) / (1 - (1 - eps) * t);
  EXPECT_TRUE(torch::allclose(dsigma / torch::expm1(sigma), s->loss_weight(t), 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(s->sigma(t), sigma, 1e-12, 1e-12));
}

TEST(Schedule, WeightIsMinusAlphaPrimeOverOneMinusAlphaForEverySchedule) {
  for (const char* name : {"loglinear", "linear", "d3pm", "cosine"}) {
    const auto s = make_schedule(with_schedule(name));
    const at::Tensor t = grid();
    const double h = 1e-6;
    const at::Tensor derivative = (s->alpha(t + h) - s->alpha(t - h)) / (2 * h);
    EXPECT_TRUE(torch::allclose(-derivative / (1 - s->alpha(t)), s->loss_weight(t), 1e-5, 1e-6)) << name;
    EXPECT_NEAR(s->alpha(torch::zeros({1}, torch::kFloat64)).item<double>(), 1.0, 1e-3) << name;
    EXPECT_NEAR(s->alpha(torch::ones({1}, torch::kFloat64)).item<double>(), std::string(name) == "loglinear" ? 1e-3 : 0.0,
                1e-12)
        << name;
  }
}

TEST(Schedule, D3pmAbsorbingIsTheProductOfItsBetas) {
  // Invariant 2: ∏_{k≤t}(1 − 1/(T − k + 1)) = 1 − t/T.
  for (std::int64_t T : {1, 10, 2048}) {
    const auto s = make_schedule(with_schedule("d3pm", T));
    double product = 1.0;
    for (std::int64_t k = 1; k <= T; ++k) {
      product *= 1.0 - 1.0 / static_cast<double>(T - k + 1);
      const double alpha = s->alpha(torch::full({1}, static_cast<double>(k) / T, torch::kFloat64)).item<double>();
      ASSERT_NEAR(alpha, product, 1e-12) << "T=" << T << " k=" << k;
      const double prev = s->alpha(torch::full({1}, static_cast<double>(k - 1) / T, torch::kFloat64)).item<double>();
      // The discrete weight of step k is 1/k.
      ASSERT_NEAR(discrete_step_weight(torch::full({1}, prev, torch::kFloat64), torch::full({1}, alpha, torch::kFloat64))
                      .item<double>(),
                  1.0 / k, 1e-9);
    }
  }
}

at::Tensor spindle_weights_for_test() {
  std::vector<std::int64_t> counts(50);
  for (std::size_t i = 0; i < counts.size(); ++i) counts[i] = static_cast<std::int64_t>((i * 7919) % 1000);
  return spindle_token_weights(counts, 0);
}

TEST(Schedule, SpindleTokenWeightsFollowTheFormula) {
  const std::vector<std::int64_t> counts = {5, 0, 99, 1000, 3};
  const at::Tensor w = spindle_token_weights(counts, 0);
  const double max = std::log(1001.0);
  EXPECT_FLOAT_EQ(w[0].item<float>(), 0.0f);  // pad
  EXPECT_FLOAT_EQ(w[1].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(w[2].item<float>(), static_cast<float>(std::log(100.0) / max));
  EXPECT_FLOAT_EQ(w[3].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(w[4].item<float>(), static_cast<float>(std::log(4.0) / max));
}

TEST(Schedule, SpindleMatchesADirectEvaluationOfTheFormula) {
  const std::int64_t T = 16;
  const double lambda = 0.3;
  const at::Tensor w = spindle_weights_for_test();
  SpindleSchedule s(lambda, w);
  const at::Tensor x0 = torch::randint(1, 50, {3, 9});
  at::Tensor pad = torch::ones({3, 9}, torch::kBool);
  pad[2].narrow(0, 6, 3).fill_(false);
  for (std::int64_t k = 0; k <= T; ++k) {
    const at::Tensor t = torch::full({3}, static_cast<double>(k) / T, torch::kFloat64);
    const at::Tensor a = s.token_alpha(t, x0, pad);
    for (int b = 0; b < 3; ++b) {
      double mean = 0;
      int n = 0;
      for (int i = 0; i < 9; ++i)
        if (pad[b][i].item<bool>()) {
          mean += w[x0[b][i].item<std::int64_t>()].item<float>();
          ++n;
        }
      mean /= n;
      for (int i = 0; i < 9; ++i) {
        if (!pad[b][i].item<bool>()) continue;
        const double wt = w[x0[b][i].item<std::int64_t>()].item<float>() - mean;
        double expected = 1.0 - static_cast<double>(k) / T + lambda * std::sin(M_PI * k / T) * wt;
        expected = std::min(std::max(expected, 0.0), 0.999);
        if (k == 0) expected = 1.0;
        if (k == T) expected = 0.0;
        ASSERT_NEAR(a[b][i].item<double>(), expected, 1e-6) << "k=" << k << " b=" << b << " i=" << i;
      }
    }
  }
}

TEST(Schedule, SpindleEndpointsMeanAndMonotonicity) {
  const std::int64_t T = 32;
  const at::Tensor w = spindle_weights_for_test();
  SpindleSchedule s(0.3, w);
  const at::Tensor x0 = torch::randint(1, 50, {4, 20});
  const at::Tensor pad = torch::ones({4, 20}, torch::kBool);
  at::Tensor prev;
  for (std::int64_t k = 0; k <= T; ++k) {
    const at::Tensor t = torch::full({4}, static_cast<double>(k) / T, torch::kFloat64);
    const at::Tensor a = s.token_alpha(t, x0, pad).to(torch::kFloat64);
    // Invariant 4: the sin term vanishes at both ends, and without clipping the
    // per-sequence mean keep probability is 1 − t/T.
    if (k == 0) EXPECT_TRUE((a == 1).all().item<bool>());
    if (k == T) EXPECT_TRUE((a == 0).all().item<bool>());
    if (k > 2 && k < T - 2)
      EXPECT_TRUE(torch::allclose(a.mean(1), torch::full({4}, 1.0 - static_cast<double>(k) / T, torch::kFloat64), 0, 1e-6));
    if (prev.defined()) EXPECT_TRUE((a <= prev + 1e-7).all().item<bool>()) << "k=" << k;  // decreasing in t
    prev = a;
  }
  // λ = 0 is the D3PM schedule.
  SpindleSchedule flat(0.0, w);
  const at::Tensor t = torch::full({4}, 0.25, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(flat.token_alpha(t, x0, pad).to(torch::kFloat64), torch::full({4, 20}, 0.75, torch::kFloat64)));
}

// time_at inverts alpha where a closed form exists (first_hitting's next
// time); elsewhere it is undefined and the sampler bisects.
TEST(Schedule, TimeAtInvertsAlpha) {
  const at::Tensor t = torch::linspace(0.001, 1.0, 97, torch::kFloat64);
  for (const std::string name : {"loglinear", "linear", "d3pm", "cosine"}) {
    const auto s = make_schedule(with_schedule(name));
    const at::Tensor back = s->time_at(s->alpha(t));
    ASSERT_TRUE(back.defined()) << name;
    EXPECT_TRUE(torch::allclose(back, t, 1e-9, 1e-9)) << name << ": " << (back - t).abs().max().item<double>();
  }
  EXPECT_FALSE(make_schedule(with_schedule("spindle", 10), spindle_weights_for_test())->time_at(t).defined());
}

TEST(Schedule, BadSettingsAreErrors) {
  EXPECT_THROW(SpindleSchedule(0.32, spindle_weights_for_test()), Error);
  EXPECT_THROW(make_schedule(with_schedule("spindle", 10)), Error);  // no token weights
  DiffusionConfig c = with_schedule("spindle", 0);
  EXPECT_THROW(make_schedule(c, spindle_weights_for_test()), Error);  // discrete only
  try {
    make_schedule(with_schedule("sqrt"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown noise schedule 'sqrt' (known: "), std::string::npos) << e.what();
  }
}

TEST(Schedule, TokenCountsCoverEveryToken) {
  const ShardedSplit split(test::fortune_data(), "val");
  const auto counts = count_tokens(split);
  std::int64_t total = 0;
  for (auto c : counts) total += c;
  EXPECT_EQ(static_cast<std::uint64_t>(total), split.num_tokens());
  EXPECT_EQ(counts.size(), 2000u);
  EXPECT_EQ(counts[4], 0);  // [MASK] never appears in data
}

}  // namespace
}  // namespace unmask
