// Token picking (top-k/top-p support, float64 inverse-CDF frequencies by a χ² test
// including a rare class), the ancestral step against the reverse posterior,
// and the samplers' invariants on a tiny model:
// first_hitting makes exactly one call per token with strictly decreasing
// times; confidence fills everything within its steps (and, re-masking, keeps
// exactly its schedule's count masked); prompts never change; semi_ar slides a
// window over text longer than the model's context; per-sample prompts.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "torch_test_util.h"
#include "unmask/diffusion/objective.h"
#include "unmask/sampling/counter_rng.h"
#include "unmask/sampling/sampler.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

at::Tensor probs_logits() { return torch::log(torch::tensor({0.5, 0.3, 0.15, 0.05}, torch::kFloat64)).unsqueeze(0); }

std::set<std::int64_t> support(const at::Tensor& lp) {
  std::set<std::int64_t> out;
  for (std::int64_t v = 0; v < lp.size(-1); ++v)
    if (std::isfinite(lp[0][v].item<double>())) out.insert(v);
  return out;
}

TEST(TokenPicker, TopKAndTopPKeepExactlyTheRightSupport) {
  PickerOptions o;
  o.top_k = 2;
  EXPECT_EQ(support(TokenPicker(o).log_probs(probs_logits())), (std::set<std::int64_t>{0, 1}));
  o.top_k = 0;
  o.top_p = 0.8;  // 0.5 + 0.3 reaches it
  EXPECT_EQ(support(TokenPicker(o).log_probs(probs_logits())), (std::set<std::int64_t>{0, 1}));
  o.top_p = 0.81;
  EXPECT_EQ(support(TokenPicker(o).log_probs(probs_logits())), (std::set<std::int64_t>{0, 1, 2}));
  o.top_p = 0.1;  // the most likely token always stays
  EXPECT_EQ(support(TokenPicker(o).log_probs(probs_logits())), (std::set<std::int64_t>{0}));
  o.top_p = 1.0;
  const at::Tensor lp = TokenPicker(o).log_probs(probs_logits());
  EXPECT_NEAR(lp.exp().sum().item<double>(), 1.0, 1e-12);
  o.temperature = 0.5;  // p^2 renormalised
  const at::Tensor sharp = TokenPicker(o).log_probs(probs_logits()).exp();
  EXPECT_NEAR(sharp[0][0].item<double>(), 0.25 / (0.25 + 0.09 + 0.0225 + 0.0025), 1e-12);
  PickerOptions bad;
  bad.top_p = 0;
  EXPECT_THROW(TokenPicker{bad}, Error);
  bad.top_p = 1;
  bad.temperature = 0;
  EXPECT_THROW(TokenPicker{bad}, Error);
}

// n rows of the distribution p = {0.6, 0.3, 0.099, 0.001} as logits, one
// uniform per row from a counter stream, and the χ² statistic of drawn ids.
struct FourWay {
  std::vector<double> p = {0.6, 0.3, 0.099, 0.001};
  at::Tensor logits, u;  // (n, 4) float64, (n) float64
  explicit FourWay(std::int64_t n) {
    logits = torch::log(torch::tensor(p, torch::kFloat64)).unsqueeze(0).expand({n, 4});
    u = CounterRng(std::vector<std::uint64_t>{42}, torch::kCPU).uniform(draw_site(0, 0, 0), n).squeeze(0);
  }
  double chi2(const at::Tensor& ids) const {
    const at::Tensor counts = torch::bincount(ids, {}, 4).to(torch::kFloat64);
    double sum = 0;
    for (int v = 0; v < 4; ++v) {
      const double expected = p[v] * static_cast<double>(u.size(0));
      sum += std::pow(counts[v].item<double>() - expected, 2) / expected;
    }
    return sum;
  }
};

// Invariant 7: float64 inverse-CDF draws match the target distribution,
// including a class of probability 1e-3; the extreme uniforms stay inside the
// support, and greedy takes the argmax.
TEST(TokenPicker, Float64InverseCdfFrequenciesMatchTheDistribution) {
  const FourWay four(200000);
  const at::Tensor &logits = four.logits, &u = four.u;
  const at::Tensor ids = TokenPicker(PickerOptions{}).draw(logits, u);
  EXPECT_LT(four.chi2(ids), 16.27);  // χ²(3 dof) at the 0.001 level
  EXPECT_NEAR((ids == 3).sum().item<double>(), 200.0, 4 * std::sqrt(200.0));
  // u = 0 and the largest u below 1: the first and the last token of positive
  // mass, never one outside the support (top-k 2 keeps {0, 1}; a −inf tail).
  PickerOptions top2;
  top2.top_k = 2;
  const at::Tensor edge_u = torch::tensor({0.0, 1.0 - 0x1.0p-53}, torch::kFloat64);
  const at::Tensor two = logits.narrow(0, 0, 2);
  EXPECT_TRUE(torch::equal(TokenPicker(top2).draw(two, edge_u), torch::tensor({0, 1}, torch::kLong)));
  const at::Tensor tail = torch::log(torch::tensor({0.0, 0.7, 0.3, 0.0}, torch::kFloat64)).unsqueeze(0).expand({2, 4});
  EXPECT_TRUE(torch::equal(TokenPicker(PickerOptions{}).draw(tail, edge_u), torch::tensor({1, 2}, torch::kLong)));
  PickerOptions greedy;
  greedy.greedy = true;
  EXPECT_TRUE((TokenPicker(greedy).draw(logits, u) == 0).all().item<bool>());
}

// MDLM's Gumbel-max draws (`--draw gumbel64|gumbel32`): both follow an
// ordinary distribution; float32 noise is capped (U ≤ 1 − 2^-24, so the
// Gumbel value −log(−log U) ≤ 16.6, and the best outcome's is ≥ −log 23.03 =
// −3.1 with its 1e-10 guards), so an outcome e^21 times less likely than the
// best is never drawn in float32, while the exact draw reaches it at the
// uniforms that map there. The float32 uniforms are multiples of 2^-24 below 1.
TEST(TokenPicker, GumbelDrawsFollowTheDistributionAndFloat32TruncatesTheTail) {
  const FourWay four(100000);
  const at::Tensor &logits = four.logits, &u = four.u;
  for (const Draw draw : {Draw::gumbel64, Draw::gumbel32}) {
    PickerOptions o;
    o.draw = draw;
    const at::Tensor ids = TokenPicker(o).draw(logits, u);
    EXPECT_LT(four.chi2(ids), 16.27) << "draw " << static_cast<int>(draw);
    // The same u, the same token: a row's noise is a function of its own uniform.
    EXPECT_TRUE(torch::equal(TokenPicker(o).draw(logits.narrow(0, 5, 3), u.narrow(0, 5, 3)), ids.narrow(0, 5, 3)));
  }
  const at::Tensor f32 = stream_uniform(torch::arange(1000, torch::kLong), 4000, torch::kFloat32);  // (1000, 4000)
  EXPECT_EQ(f32.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(f32 * 0x1.0p24f, (f32 * 0x1.0p24f).floor()));
  EXPECT_LE(f32.max().item<float>(), 1.0f - 0x1.0p-24f);
  // One outcome of weight 1 and 999 of weight e^-21 each (together 7.6e-7).
  const std::int64_t rows = 2000, V = 1000;
  at::Tensor tail = torch::full({rows, V}, -21.0, torch::kFloat64);
  tail.select(1, 0).fill_(0.0);
  PickerOptions o32;
  o32.draw = Draw::gumbel32;
  const CounterRng rng(std::vector<std::uint64_t>{42}, torch::kCPU);
  const at::Tensor u_rows = rng.uniform(draw_site(0, 1, 0), rows).squeeze(0);  // (rows)
  EXPECT_EQ((TokenPicker(o32).draw(tail, u_rows) != 0).sum().item<std::int64_t>(), 0);
  const at::Tensor high_u = torch::tensor({0.9999995, 1.0 - 0x1.0p-53}, torch::kFloat64);
  EXPECT_TRUE((TokenPicker(PickerOptions{}).draw(tail.narrow(0, 0, 2), high_u) > 0).all().item<bool>());
  EXPECT_EQ(parse_draw("gumbel32"), Draw::gumbel32);
  EXPECT_THROW(parse_draw("float32"), Error);
}

// The two-level search (64-token blocks, a shorter last block) against one
// float64 cumulative sum over the whole row, on a vocabulary of 1,000 with
// zero-mass tokens, a rare token and mass in the last, short block; the
// extreme uniforms give the first and last tokens of positive mass.
TEST(TokenPicker, TwoLevelInverseCdfEqualsOneCumulativeSum) {
  const std::int64_t V = 1000, n = 20000;
  at::Tensor p = torch::rand({V}, torch::kFloat64);
  p.narrow(0, 0, 3).zero_();
  p.narrow(0, 500, 80).zero_();    // a whole block and more without mass
  p.narrow(0, 990, 10).zero_();    // the end of the short last block
  p[700] = 1e-9;
  p = p / p.sum();
  const at::Tensor lp = torch::log(p).to(torch::kFloat32).unsqueeze(0).expand({n, V});
  const CounterRng rng(std::vector<std::uint64_t>{7}, torch::kCPU);
  const at::Tensor u = rng.uniform(draw_site(0, 1, 0), n).squeeze(0);  // (n)
  const at::Tensor ids = inverse_cdf(lp, u);
  const at::Tensor cdf = lp.exp().cumsum(-1, torch::kFloat64);            // (n, V)
  const at::Tensor reference =
      torch::searchsorted(cdf, (u * cdf.select(1, V - 1)).unsqueeze(1), false, true).squeeze(1).clamp_max(V - 1);
  EXPECT_LE((ids != reference).sum().item<std::int64_t>(), 2);  // at most an ulp-boundary case or two
  EXPECT_FALSE((p.index_select(0, ids) == 0).any().item<bool>()) << "a token of zero mass was drawn";
  const at::Tensor edges = inverse_cdf(lp.narrow(0, 0, 2), torch::tensor({0.0, 1.0 - 0x1.0p-53}, torch::kFloat64));
  EXPECT_EQ(edges[0].item<std::int64_t>(), 3);
  EXPECT_EQ(edges[1].item<std::int64_t>(), 989);
  // Frequencies of the first ten blocks' masses (χ², 9 dof at the 0.001 level).
  const at::Tensor block_of = torch::div(ids, 100, "floor");
  const at::Tensor counts = torch::bincount(block_of, {}, 10).to(torch::kFloat64);
  double chi2 = 0;
  for (std::int64_t b = 0; b < 10; ++b) {
    const double expected = p.narrow(0, b * 100, 100).sum().item<double>() * n;
    chi2 += std::pow(counts[b].item<double>() - expected, 2) / expected;
  }
  EXPECT_LT(chi2, 27.88);
}

// The first level's block masses: the CPU loop against ATen's float64 sums of
// the same blocks, for float and double rows with and without a short last
// block; and float64 accumulation keeps a token 2^30 times lighter than its
// block (a float32 sum would absorb it).
TEST(TokenPicker, BlockMassesAreFloat64SumsOfEachBlock) {
  for (const auto dtype : {torch::kFloat32, torch::kFloat64})
    for (const std::int64_t V : {256, 300, 8000, 8001}) {
      const at::Tensor p = torch::rand({5, V}, dtype);  // (5, V)
      const at::Tensor mass = block_masses(p);
      const std::int64_t nb = (V + 63) / 64;
      ASSERT_EQ(mass.sizes(), (std::vector<std::int64_t>{5, nb}));
      ASSERT_EQ(mass.scalar_type(), torch::kFloat64);
      const at::Tensor padded = torch::cat({p.to(torch::kFloat64), torch::zeros({5, nb * 64 - V}, torch::kFloat64)}, 1);
      const at::Tensor reference = padded.view({5, nb, 64}).sum(-1);
      EXPECT_LE(((mass - reference).abs() / reference).max().item<double>(), 1e-14) << "V " << V;
      EXPECT_TRUE(torch::equal(block_masses(p.t().contiguous().t()), mass)) << "non-contiguous rows";
    }
  at::Tensor p = torch::zeros({1, 256}, torch::kFloat32);
  p[0][0] = 1.0f;
  p[0][1] = 0x1.0p-30f;
  EXPECT_EQ(block_masses(p)[0][0].item<double>(), 1.0 + 0x1.0p-30);
  EXPECT_EQ(p.narrow(1, 0, 64).sum().item<float>(), 1.0f) << "float32 absorbs it (the case above guards against)";
}

// The CPU's one-pass draw against the tensor form CUDA runs: the same ids,
// bitwise, for float and double rows, full and short last blocks, empty
// blocks, tiny masses and the extreme uniforms.
TEST(TokenPicker, CpuInverseCdfEqualsTheTensorFormBitwise) {
  const CounterRng rng(std::vector<std::uint64_t>{3}, torch::kCPU);
  for (const auto dtype : {torch::kFloat32, torch::kFloat64})
    for (const std::int64_t V : {256, 300, 8000, 8001}) {
      const std::int64_t R = 512;
      at::Tensor p = torch::rand({R, V}, torch::kFloat64).pow(8);  // (R, V): skewed rows
      p.narrow(1, 64, 128).narrow(0, 0, R / 2).zero_();             // whole blocks without mass
      p.narrow(1, V - 5, 5).narrow(0, R / 4, R / 4).zero_();        // the end of the last block
      p.select(1, 100).narrow(0, 0, 8).fill_(1e-30);
      const at::Tensor lp = (p / p.sum(1, true)).log().to(dtype);
      at::Tensor u = rng.uniform(draw_site(0, V, 0), R).squeeze(0);  // (R)
      u[0] = 0.0;
      u[1] = 1.0 - 0x1.0p-53;
      const at::Tensor fast = inverse_cdf(lp, u), reference = inverse_cdf_ops(lp, u);
      EXPECT_TRUE(torch::equal(fast, reference))
          << "V " << V << " dtype " << dtype << ": " << (fast != reference).sum().item<std::int64_t>() << " ids differ";
    }
}

TEST(CounterRng, CpuLoopEqualsTheTensorFormBitwise) {
  const at::Tensor keys = torch::tensor({std::int64_t{0}, std::int64_t{-1}, std::int64_t{1} << 62, std::int64_t{12345}});
  for (const auto dtype : {torch::kFloat64, torch::kFloat32}) {
    const at::Tensor loop = stream_uniform(keys, 5000, dtype), ops = stream_uniform_ops(keys, 5000, dtype);
    ASSERT_EQ(loop.scalar_type(), dtype);
    EXPECT_TRUE(torch::equal(loop, ops)) << dtype;
  }
}

using TinySetup = test::TinyMdlm;

// The ancestral reverse step against its formula (MDLM Eq. 7, absorbing
// posterior): from t to s a masked position is revealed with probability
// (α_s − α_t)/(1 − α_t), and its token follows p_θ(x0 | x_t) with [MASK]
// excluded. Cosine schedule, 3 steps (t = 1 → 2/3 → 1/3 → 0), 4000 samples.
TEST(Sampler, AncestralStepsFollowTheReversePosterior) {
  TinySetup s;
  ObjectiveContext ctx;
  ctx.vocab_size = 50;
  ctx.diffusion.schedule = "cosine";
  const auto objective = make_objective(ctx);
  SampleRequest r;
  r.num = 4000;
  r.length = 6;  // BOS and 5 masked positions
  r.steps = 3;
  std::vector<at::Tensor> canvases;
  r.on_step = [&](const at::Tensor& x) { canvases.push_back(x.clone()); };
  run_sampler(*s.model, *objective, SpecialTokens{}, r);
  ASSERT_GE(canvases.size(), 2u);
  auto alpha = [](double t) { return 1 - std::cos(M_PI / 2 * (1 - t)); };
  const double p1 = (alpha(2.0 / 3) - alpha(1.0)) / (1 - alpha(1.0));        // 1 − cos(π/6)
  const double p2 = (alpha(1.0 / 3) - alpha(2.0 / 3)) / (1 - alpha(2.0 / 3)); // (cos(π/6) − cos(π/3)) / cos(π/6)
  const at::Tensor start = torch::ones({4000, 5}, torch::kBool);
  const at::Tensor after1 = canvases[0].narrow(1, 1, 5) == 4, after2 = canvases[1].narrow(1, 1, 5) == 4;
  const double n1 = start.sum().item<double>(), n2 = after1.sum().item<double>();
  const double f1 = 1 - n2 / n1, f2 = (after1.logical_and(after2.logical_not())).sum().item<double>() / n2;
  EXPECT_NEAR(f1, p1, 5 * std::sqrt(p1 * (1 - p1) / n1));
  EXPECT_NEAR(f2, p2, 5 * std::sqrt(p2 * (1 - p2) / n2));
  // Tokens revealed in the first step: all samples saw the same all-masked
  // canvas, so each position's tokens follow one distribution.
  at::Tensor x1 = torch::full({1, 6}, 4, torch::kLong);
  x1[0][0] = 2;
  const at::Tensor probs =  // (L, V)
      torch::softmax(s.model->forward(x1, objective->time_condition(torch::ones({1}, torch::kFloat64)), at::Tensor())[0]
                         .index_fill(-1, torch::tensor({4}), -INFINITY)
                         .to(torch::kFloat64),
                     -1)
          .detach();
  for (std::int64_t pos = 1; pos < 6; ++pos) {
    const at::Tensor revealed = after1.select(1, pos - 1).logical_not();
    const at::Tensor tokens = canvases[0].select(1, pos).masked_select(revealed);
    const double n = static_cast<double>(tokens.numel());
    ASSERT_GT(n, 300);
    const at::Tensor freq = torch::bincount(tokens, {}, 50).to(torch::kFloat64) / n;
    for (std::int64_t v = 0; v < 50; ++v) {
      const double p = probs[pos][v].item<double>();
      EXPECT_NEAR(freq[v].item<double>(), p, 5 * std::sqrt(p * (1 - p) / n) + 1e-9) << pos << "/" << v;
    }
  }
}

TEST(Sampler, FirstHittingMakesOneCallPerTokenWithDecreasingTimes) {
  TinySetup s;
  SampleRequest r;
  r.sampler = SamplerId::first_hitting;
  r.num = 3;
  r.length = 12;
  r.prompt = {9, 10};
  const SampleResult out = run_sampler(*s.model, *s.objective, SpecialTokens{}, r);
  EXPECT_EQ(out.network_calls, 12 - 1 - 2);
  ASSERT_EQ(out.times.size(), 3u);
  for (const auto& times : out.times) {
    ASSERT_EQ(times.size(), 9u);
    for (std::size_t k = 0; k < times.size(); ++k) {
      EXPECT_GT(times[k], 0.0);
      EXPECT_LT(times[k], k == 0 ? 1.0 : times[k - 1]);
    }
  }
  EXPECT_FALSE((out.ids == 4).any().item<bool>());
  EXPECT_TRUE((out.ids.select(1, 1) == 9).all().item<bool>());
  EXPECT_TRUE((out.ids.select(1, 2) == 10).all().item<bool>());
}

// Absorbing process: once revealed, a token never changes, in every sampler.
TEST(Sampler, RevealedTokensNeverChange) {
  TinySetup s;
  for (const char* name : {"ancestral", "cached", "first_hitting", "confidence", "semi_ar"}) {
    SampleRequest r;
    r.sampler = parse_sampler(name);
    r.num = 2;
    r.length = 14;
    r.steps = 6;
    r.block_size = 5;
    r.prompt = {4, 11, 4};  // infill around a fixed token
    at::Tensor previous;
    int steps = 0;
    r.on_step = [&](const at::Tensor& x) {
      ++steps;
      if (previous.defined()) {
        const at::Tensor was_revealed = previous != 4;
        EXPECT_TRUE(torch::equal(x.masked_select(was_revealed), previous.masked_select(was_revealed))) << name;
      }
      EXPECT_TRUE((x.select(1, 2) == 11).all().item<bool>()) << name;
      previous = x.clone();
    };
    const SampleResult out = run_sampler(*s.model, *s.objective, SpecialTokens{}, r);
    EXPECT_GT(steps, 0) << name;
    EXPECT_TRUE(torch::equal(out.ids, previous)) << name;
    EXPECT_FALSE((out.ids == 4).any().item<bool>()) << name;
  }
}

TEST(Sampler, SemiArFillsBlocksLeftToRight) {
  TinySetup s;
  SampleRequest r;
  r.sampler = SamplerId::semi_ar;
  r.num = 2;
  r.length = 17;
  r.steps = 8;
  r.block_size = 4;  // 4 blocks of 4 tokens, 2 steps each
  r.prompt = {8};
  const SampleResult out = run_sampler(*s.model, *s.objective, SpecialTokens{}, r);
  EXPECT_FALSE((out.ids == 4).any().item<bool>());
  EXPECT_TRUE((out.ids.select(1, 1) == 8).all().item<bool>());
  EXPECT_LE(out.network_calls, 4 * (2 + 1));  // per block: its steps plus at most a final denoise
  EXPECT_GE(out.network_calls, 4);
}

TEST(Sampler, ConfidenceFillsEverythingWithinItsSteps) {
  TinySetup s;
  for (const char* conf : {"maxprob", "margin", "entropy"})
    for (const char* sched : {"linear", "cosine"}) {
      SampleRequest r;
      r.sampler = SamplerId::confidence;
      r.confidence = conf;
      r.k_schedule = sched;
      r.num = 2;
      r.length = 16;
      r.steps = 5;
      r.prompt = {7};
      const SampleResult out = run_sampler(*s.model, *s.objective, SpecialTokens{}, r);
      EXPECT_LE(out.network_calls, 5) << conf << "/" << sched;
      EXPECT_FALSE((out.ids == 4).any().item<bool>()) << conf << "/" << sched;
      EXPECT_TRUE((out.ids.select(1, 1) == 7).all().item<bool>());
    }
  SampleRequest bad;
  bad.sampler = SamplerId::confidence;
  bad.confidence = "luck";
  EXPECT_THROW(run_sampler(*s.model, *s.objective, SpecialTokens{}, bad), Error);
}

// Re-masking (Mask-Predict): after step n exactly round(total · (1 − (n+1)/S))
// generated positions are masked, some revealed token goes back to [MASK] at
// some point, fixed positions never change, and nothing is left masked.
TEST(Sampler, ConfidenceRemaskingFollowsItsScheduleAndRemasks) {
  TinySetup s;
  int remasked = 0;
  for (std::uint64_t seed : {1, 2, 3}) {
    SampleRequest r;
    r.sampler = SamplerId::confidence;
    r.remask = true;
    r.seed = seed;
    r.num = 2;
    r.length = 21;
    r.steps = 5;
    r.prompt = {4, 4, 12, 4};  // 17 generated positions per sample, one fixed token among them
    const std::int64_t total = 20 - 1;
    int step = 0;
    at::Tensor previous;
    r.on_step = [&](const at::Tensor& x) {
      ++step;
      const auto expect_masked = std::llround(total * (1.0 - static_cast<double>(step) / r.steps));
      for (std::int64_t i = 0; i < 2; ++i) EXPECT_EQ((x[i] == 4).sum().item<std::int64_t>(), expect_masked) << step;
      EXPECT_TRUE((x.select(1, 3) == 12).all().item<bool>());
      EXPECT_TRUE((x.select(1, 0) == 2).all().item<bool>());
      if (previous.defined()) remasked += (previous != 4).logical_and(x == 4).sum().item<int>();
      previous = x.clone();
    };
    const SampleResult out = run_sampler(*s.model, *s.objective, SpecialTokens{}, r);
    EXPECT_EQ(step, 5);
    EXPECT_EQ(out.network_calls, 5);
    EXPECT_FALSE((out.ids == 4).any().item<bool>());
  }
  EXPECT_GT(remasked, 0);
}

// MDLM's semi-AR sliding window: 150 tokens from a bert of 64 positions (its
// position table would fail on a wider input); other samplers refuse.
TEST(Sampler, SemiArSlidesAWindowPastTheModelContext) {
  TinySetup s;
  for (const char* inner : {"ancestral", "confidence"}) {
    SampleRequest r;
    r.sampler = SamplerId::semi_ar;
    r.inner = parse_sampler(inner);
    r.num = 2;
    r.length = 150;
    r.context = 64;
    r.block_size = 16;
    r.steps = 40;  // 10 blocks, 4 steps each
    r.prompt = {9, 10, 11};
    at::Tensor previous;
    r.on_step = [&](const at::Tensor& x) {
      ASSERT_EQ(x.size(1), 150);
      if (previous.defined()) {
        const at::Tensor was_revealed = previous != 4;
        EXPECT_TRUE(torch::equal(x.masked_select(was_revealed), previous.masked_select(was_revealed))) << inner;
      }
      previous = x.clone();
    };
    const SampleResult out = run_sampler(*s.model, *s.objective, SpecialTokens{}, r);
    EXPECT_FALSE((out.ids == 4).any().item<bool>()) << inner;
    EXPECT_TRUE((out.ids.select(1, 1) == 9).all().item<bool>());
    EXPECT_TRUE((out.ids.select(1, 3) == 11).all().item<bool>());
    EXPECT_LE(out.network_calls, 10 * (4 + 1)) << inner;
    EXPECT_GE(out.network_calls, 10) << inner;
  }
  SampleRequest bad;
  bad.length = 150;
  bad.context = 64;
  try {
    run_sampler(*s.model, *s.objective, SpecialTokens{}, bad);
    ADD_FAILURE() << "ancestral past the context must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("semi_ar slides a window"), std::string::npos) << e.what();
  }
}

// MDLM's semi-AR (sample_subs_guidance): the first window is denoised jointly
// with all the steps, then each block in a window sliding by it, again with
// all the steps; every block is finished before the next one starts.
TEST(Sampler, SemiArMdlmStyleDenoisesTheFirstWindowJointly) {
  TinySetup s;
  SampleRequest r;
  r.sampler = SamplerId::semi_ar;
  r.semi_ar_style = "mdlm";
  r.num = 4;
  r.length = 40;
  r.context = 16;
  r.block_size = 8;
  r.steps = 6;
  const SampleResult out = run_sampler(*s.model, *s.objective, SpecialTokens{}, r);
  EXPECT_FALSE((out.ids == 4).any().item<bool>());
  const std::vector<std::pair<std::int64_t, std::int64_t>> spans = {{1, 16}, {16, 24}, {24, 32}, {32, 40}};
  bool spread = false;  // the first window takes several steps, not one block at a time
  for (std::int64_t i = 0; i < r.num; ++i) {
    const at::Tensor steps = out.reveal_step[i];
    for (std::size_t k = 0; k + 1 < spans.size(); ++k)
      EXPECT_LT(steps.slice(0, spans[k].first, spans[k].second).max().item<std::int64_t>(),
                steps.slice(0, spans[k + 1].first, spans[k + 1].second).min().item<std::int64_t>());
    const at::Tensor first = steps.slice(0, 1, 16);
    spread = spread || first.max().item<std::int64_t>() - first.min().item<std::int64_t>() >= 2;
    EXPECT_LE(first.max().item<std::int64_t>(), 6);
  }
  EXPECT_TRUE(spread);
  EXPECT_GT(out.network_calls, 6);  // each block has all 6 steps, not a share of them
  EXPECT_LE(out.network_calls, 4 * 6);
}

// --mask-bos starts from an all-[MASK] canvas (MDLM's prior): position 0 is
// generated like any other; an ar checkpoint refuses it.
TEST(Sampler, MaskBosGeneratesPositionZero) {
  TinySetup s;
  SampleRequest r;
  r.num = 3;
  r.length = 10;
  r.steps = 5;
  r.mask_bos = true;
  const SampleResult out = run_sampler(*s.model, *s.objective, SpecialTokens{}, r);
  EXPECT_FALSE((out.ids == 4).any().item<bool>());
  EXPECT_TRUE((out.reveal_step.select(1, 0) > 0).all().item<bool>());
  ObjectiveContext ctx;
  ctx.vocab_size = 50;
  ctx.diffusion.objective = "ar";
  EXPECT_THROW(run_sampler(*s.model, *make_objective(ctx), SpecialTokens{}, r), Error);
  r.mask_bos = false;
  r.sampler = SamplerId::semi_ar;
  r.semi_ar_style = "gpt";
  EXPECT_THROW(run_sampler(*s.model, *s.objective, SpecialTokens{}, r), Error);
}

// One prompt per sample (--prompt-file), also for ragged AR decoding.
TEST(Sampler, PerSamplePromptsAreKeptInDiffusionAndArDecoding) {
  TinySetup s;
  torch::manual_seed(0);
  Backbone causal = make_backbone(test::tiny_backbone("bert", "none", true));
  causal->eval();
  ObjectiveContext ctx;
  ctx.vocab_size = 50;
  ctx.diffusion.objective = "ar";
  const auto ar = make_objective(ctx);
  for (const bool use_ar : {false, true}) {
    SampleRequest r;
    r.num = 4;
    r.length = 10;
    r.steps = 4;
    r.prompts = {{9}, {10, 11, 12}};
    const SampleResult out = use_ar ? run_sampler(*causal, *ar, SpecialTokens{}, r)
                                    : run_sampler(*s.model, *s.objective, SpecialTokens{}, r);
    for (std::int64_t i : {0, 2}) EXPECT_EQ(out.ids[i][1].item<std::int64_t>(), 9) << use_ar;
    for (std::int64_t i : {1, 3})
      for (std::int64_t j = 0; j < 3; ++j) EXPECT_EQ(out.ids[i][1 + j].item<std::int64_t>(), 10 + j) << use_ar;
    EXPECT_FALSE((out.ids == 4).any().item<bool>()) << use_ar;
    if (use_ar) EXPECT_EQ(out.network_calls, 10 - 2);  // from the shortest prompt on
  }
}

}  // namespace
}  // namespace unmask
