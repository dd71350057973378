// The remdm sampler against ReMDM's formulas (Wang et al. 2025, Eq. 7;
// kuleshov-group/remdm diffusion.py _ddpm_caching_update): σ = 0 is MDLM's
// ancestral sampler draw for draw; a decoded token goes back to [MASK] with
// probability σ_t and a masked one is revealed with (α_s − (1 − σ)α_t)/(1 − α_t)
// (binomial bounds of 5 standard deviations on 4000 rows, per step); conf
// spreads σ_max over the decoded positions; loop holds α at α_on.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "test_util.h"
#include "torch_test_util.h"
#include "unmask/diffusion/objective.h"
#include "unmask/diffusion/schedule.h"
#include "unmask/model/backbone.h"
#include "unmask/sampling/sampler.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

struct Tiny : test::TinyMdlm {  // mdlm, log-linear
  double alpha(double t) const {
    return t <= 0 ? 1.0 : objective->schedule()->alpha(torch::full({1}, t, torch::kFloat64)).item<double>();
  }
  SampleResult run(const SampleRequest& r) const { return run_sampler(*model, *objective, SpecialTokens{}, r); }
};

TEST(Remdm, ZeroSigmaIsTheAncestralSamplerDrawForDraw) {
  const Tiny s;
  for (const std::int64_t steps : {6, 40}) {  // fewer steps than tokens, and more
    for (const std::string strategy : {"cap", "rescale"}) {
      SampleRequest r;
      r.num = 5;
      r.length = 16;
      r.steps = steps;
      r.seed = 3;
      r.prompt = {7, 8};
      const SampleResult ancestral = s.run(r);
      r.sampler = SamplerId::remdm;
      r.remdm = strategy;
      r.eta = 0;
      const SampleResult remdm = s.run(r);
      EXPECT_TRUE(torch::equal(remdm.ids, ancestral.ids)) << strategy << " steps " << steps;
      EXPECT_TRUE(torch::equal(remdm.reveal_step, ancestral.reveal_step)) << strategy << " steps " << steps;
    }
  }
}

// The canvases after every step of a remdm run on 4000 rows of BOS + 5 masks.
std::vector<at::Tensor> canvases(const Tiny& s, SampleRequest r) {
  r.sampler = SamplerId::remdm;
  r.num = 4000;
  r.length = 6;
  std::vector<at::Tensor> out;
  r.on_step = [&](const at::Tensor& x) { out.push_back(x.narrow(1, 1, 5).clone()); };
  s.run(r);
  return out;
}

// Step k (from canvas k−1 to k): the fraction of decoded tokens remasked and
// of masked ones revealed, against `remask` and `reveal` within 5 σ.
void expect_step(const std::vector<at::Tensor>& c, std::size_t k, double remask, double reveal, const std::string& what) {
  const at::Tensor before = c[k - 1] == 4, after = c[k] == 4;  // masked
  const double decoded = before.logical_not().sum().item<double>(), masked = before.sum().item<double>();
  ASSERT_GT(decoded, 500) << what;
  ASSERT_GT(masked, 500) << what;
  const double f_remask = before.logical_not().logical_and(after).sum().item<double>() / decoded;
  const double f_reveal = before.logical_and(after.logical_not()).sum().item<double>() / masked;
  EXPECT_NEAR(f_remask, remask, 5 * std::sqrt(remask * (1 - remask) / decoded) + 1e-12) << what << " remask";
  EXPECT_NEAR(f_reveal, reveal, 5 * std::sqrt(reveal * (1 - reveal) / masked) + 1e-12) << what << " reveal";
}

TEST(Remdm, RemaskAndRevealFrequenciesFollowTheFormulas) {
  const Tiny s;
  SampleRequest r;
  r.steps = 8;  // t = 1, 7/8, …, 1/8, 0
  auto t = [](std::size_t n) { return 1.0 - static_cast<double>(n) / 8; };
  // cap, η = 0.2: σ = min(η, (1 − α_s)/α_t), binding at later steps.
  r.remdm = "cap";
  r.eta = 0.2;
  auto c = canvases(s, r);
  ASSERT_GE(c.size(), 6u);
  for (std::size_t n = 2; n <= 5; ++n) {  // canvas n−1 → n: the step from t(n) to t(n + 1)
    const double a_t = s.alpha(t(n)), a_s = s.alpha(t(n + 1));
    const double sigma = std::min(0.2, (1 - a_s) / a_t);
    expect_step(c, n, sigma, (a_s - (1 - sigma) * a_t) / (1 - a_t), "cap step " + std::to_string(n));
  }
  // rescale, η = 0.5: σ = η min(1, (1 − α_s)/α_t).
  r.remdm = "rescale";
  r.eta = 0.5;
  c = canvases(s, r);
  for (std::size_t n = 2; n <= 5; ++n) {
    const double a_t = s.alpha(t(n)), a_s = s.alpha(t(n + 1));
    const double sigma = 0.5 * std::min(1.0, (1 - a_s) / a_t);
    expect_step(c, n, sigma, (a_s - (1 - sigma) * a_t) / (1 - a_t), "rescale step " + std::to_string(n));
  }
  // loop: in (t_off, t_on] α stays at α_on, σ = η: remask η, reveal η α_on/(1 − α_on).
  r.remdm = "loop";
  r.eta = 0.1;
  r.t_on = 0.9;
  r.t_off = 0.1;
  r.alpha_on = 0.6;
  c = canvases(s, r);
  for (std::size_t n = 2; n <= 7; ++n) {  // t(n) = 6/8 … 1/8, all inside (0.1, 0.9]
    expect_step(c, n, 0.1, 0.1 * 0.6 / 0.4, "loop step " + std::to_string(n));
  }
}

// conf: σ_i = softmax_i(−ψ_i) σ_max over the decoded positions, so a row
// remasks σ_max tokens on average whatever their confidences.
TEST(Remdm, ConfSpreadsSigmaMaxOverTheDecodedTokens) {
  const Tiny s;
  SampleRequest r;
  r.steps = 8;
  r.remdm = "conf";
  const auto c = canvases(s, r);
  ASSERT_GE(c.size(), 6u);
  for (std::size_t n = 4; n <= 6; ++n) {
    const double a_t = s.alpha(1.0 - static_cast<double>(n) / 8), a_s = s.alpha(1.0 - static_cast<double>(n + 1) / 8);
    const double sigma_max = std::min(1.0, (1 - a_s) / a_t);
    const at::Tensor before = c[n - 1] == 4, after = c[n] == 4;
    const at::Tensor rows = before.logical_not().any(1);  // rows with a decoded token
    const at::Tensor remasked = before.logical_not().logical_and(after).sum(1).to(torch::kFloat64).masked_select(rows);
    const double mean = remasked.mean().item<double>(), sd = remasked.std().item<double>();
    EXPECT_NEAR(mean, sigma_max, 5 * sd / std::sqrt(static_cast<double>(remasked.numel()))) << "step " << n;
    // The masked ones are revealed by the MDLM posterior (their σ is 0).
    const double masked = before.sum().item<double>();
    const double reveal = (a_s - a_t) / (1 - a_t);
    const double f = before.logical_and(after.logical_not()).sum().item<double>() / masked;
    EXPECT_NEAR(f, reveal, 5 * std::sqrt(reveal * (1 - reveal) / masked)) << "step " << n;
  }
}

TEST(Remdm, BadRequestsAreClearErrors) {
  const Tiny s;
  SampleRequest r;
  r.sampler = SamplerId::remdm;
  r.remdm = "sometimes";
  EXPECT_NE(test::error_of([&] { s.run(r); }).find("unknown --remdm 'sometimes' (valid: cap, rescale, conf, loop)"),
            std::string::npos);
  r.remdm = "loop";
  r.t_on = 0.1;
  r.t_off = 0.5;
  EXPECT_NE(test::error_of([&] { s.run(r); }).find("remdm loop needs 0 <= t_off < t_on <= 1"), std::string::npos);
  r = SampleRequest();
  r.sampler = SamplerId::remdm;
  r.filter = "reverse";
  EXPECT_NE(test::error_of([&] { s.run(r); }).find("--filter reverse draws from the ancestral reverse step"),
            std::string::npos);
}

}  // namespace
}  // namespace unmask
