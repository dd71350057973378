// Fast-dLLM's prefix and dual caches for semi_ar blocks (sampling/block_cache.h,
// KvCache::drop): on an unchanged canvas the cached call's logits equal the
// full pass's at the recomputed positions (so the kept keys sit at their own
// positions, absolute for bert, rotary for dit); refreshed at every call, both
// caches give exactly the uncached tokens; the positions a run recomputes are
// what the rule says; bad combinations are refused with one clear line.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_util.h"
#include "torch_test_util.h"
#include "unmask/diffusion/objective.h"
#include "unmask/model/backbone.h"
#include "unmask/model/kv_cache.h"
#include "unmask/sampling/sampler.h"

namespace unmask {
namespace {

const SpecialTokens kSpecial{0, 1, 2, 3, 49};

Backbone random_model(const std::string& backbone, const std::string& time = "none") {
  torch::manual_seed(5);
  BackboneOptions o = test::tiny_backbone(backbone, time);
  auto model = make_backbone(o);
  torch::NoGradGuard no_grad;
  for (auto& p : model->parameters()) p.normal_(0.0, 0.3);  // the DiT's zero-initialised output would be uniform
  model->eval();
  return model;
}

std::unique_ptr<Objective> mdlm() {
  ObjectiveContext c;
  c.vocab_size = 50;
  c.special = kSpecial;
  return make_objective(c);
}

TEST(BlockCache, CachedCallsEqualTheFullPassOnAnUnchangedCanvas) {
  torch::NoGradGuard no_grad;
  for (const std::string backbone : {"bert", "dit"}) {
    auto model = random_model(backbone);
    torch::manual_seed(1);
    const at::Tensor x = torch::randint(5, 49, {3, 20}, torch::kLong);  // (N, W)
    const at::Tensor cond = torch::full({3}, 0.5, torch::kFloat64);
    const at::Tensor full = model->forward(x, cond, at::Tensor());  // (N, W, V)
    for (const bool dual : {false, true}) {
      const std::int64_t begin = 8, end = dual ? 12 : 20;
      KvCache cache;
      cache.reset(model->options().model.layers);
      const at::Tensor stored = model->forward_cached(x, cond, cache, /*store=*/true, /*causal_within=*/false);
      EXPECT_TRUE(torch::equal(stored, full)) << backbone << ": the storing pass is the plain forward";
      cache.drop(begin, end);
      EXPECT_EQ(cache.next_position(), begin);
      EXPECT_EQ(cache.length(), 20 - (end - begin));
      const at::Tensor part = model->forward_cached(x.narrow(1, begin, end - begin), cond, cache, false, false);
      EXPECT_TRUE(torch::allclose(part, full.narrow(1, begin, end - begin), 1e-5, 1e-5))
          << backbone << (dual ? " dual" : " prefix") << ": max diff "
          << (part - full.narrow(1, begin, end - begin)).abs().max().item<double>();
    }
  }
}

TEST(BlockCache, DualCachePositionsAndRefusals) {
  KvCache cache;
  cache.reset(1);
  const at::Tensor kv = torch::arange(10, torch::kFloat).view({1, 1, 10, 1});  // (N, heads, P, D): key j = j
  cache.append(0, kv, kv);
  cache.drop(3, 6);
  EXPECT_TRUE(torch::equal(cache.positions(0, 2, torch::TensorOptions()), torch::tensor({0, 1, 2, 6, 7, 8, 9, 3, 4})));
  EXPECT_TRUE(torch::equal(cache.view(0).first.flatten(), torch::tensor({0.f, 1.f, 2.f, 6.f, 7.f, 8.f, 9.f})));
  EXPECT_NE(test::error_of([&] { cache.append(0, kv, kv); }).find("no stores"), std::string::npos);
  EXPECT_NE(test::error_of([&] { cache.keep_last(2); }).find("does not slide"), std::string::npos);
}

SampleRequest semi_ar(SamplerId inner, const std::string& cache, std::int64_t refresh) {
  SampleRequest r;
  r.sampler = SamplerId::semi_ar;
  r.inner = inner;
  r.num = 3;
  r.length = 25;  // BOS + 6 blocks of 4
  r.block_size = 4;
  r.steps = 18;   // 3 per block
  r.seed = 11;
  r.prompt = {7, 8};
  r.cache = cache;
  r.cache_refresh = refresh;
  return r;
}

TEST(BlockCache, RefreshedEveryCallBothCachesGiveTheUncachedTokens) {
  const auto obj = mdlm();
  for (const std::string backbone : {"bert", "dit"}) {
    for (const std::string time : {std::string("none"), std::string(backbone == "dit" ? "adaln" : "layerwise")}) {
      auto model = random_model(backbone, time);
      for (const SamplerId inner : {SamplerId::ancestral, SamplerId::confidence}) {
        SampleRequest none = semi_ar(inner, "none", 0);
        const SampleResult want = run_sampler(*model, *obj, kSpecial, none);
        EXPECT_EQ((want.ids == kSpecial.mask).sum().item<std::int64_t>(), 0);
        for (const std::string cache : {"prefix", "dual"}) {
          const SampleResult got = run_sampler(*model, *obj, kSpecial, semi_ar(inner, cache, 1));
          const std::string what = backbone + "/" + time + " " + sampler_name(inner) + " " + cache;
          EXPECT_TRUE(torch::equal(got.ids, want.ids)) << what;
          EXPECT_EQ(got.network_calls, want.network_calls) << what;
          EXPECT_EQ(got.positions_computed, want.positions_computed) << what;
          const SampleResult approx = run_sampler(*model, *obj, kSpecial, semi_ar(inner, cache, 0));
          EXPECT_EQ((approx.ids == kSpecial.mask).sum().item<std::int64_t>(), 0) << what;
          EXPECT_LT(approx.positions_computed, want.positions_computed) << what;
        }
      }
    }
  }
}

TEST(BlockCache, PositionsRecomputedAreWhatTheRuleSays) {
  const auto obj = mdlm();
  auto model = random_model("bert");
  for (const std::int64_t refresh : {0, 2}) {
    for (const std::string cache : {"none", "prefix", "dual"}) {
      const SampleResult r = run_sampler(*model, *obj, kSpecial, semi_ar(SamplerId::ancestral, cache, refresh));
      // Blocks [1, 5), [5, 9), …, [21, 25) of a 25-position canvas.
      ASSERT_EQ(r.calls_per_block.size(), 6u) << cache;
      std::int64_t want = 0;
      for (std::size_t b = 0; b < r.calls_per_block.size(); ++b) {
        const std::int64_t begin = 1 + 4 * static_cast<std::int64_t>(b), calls = r.calls_per_block[b];
        ASSERT_GE(calls, 1);
        for (std::int64_t c = 0; c < calls; ++c) {
          const bool full = cache == "none" || c == 0 || (refresh > 0 && c % refresh == 0);
          want += full ? 25 : cache == "prefix" ? 25 - begin : 4;
        }
      }
      EXPECT_EQ(r.positions_computed, want) << cache << " refresh " << refresh;
    }
  }
}

TEST(BlockCache, BadCombinationsAreRefused) {
  auto model = random_model("bert");
  const auto obj = mdlm();
  auto error = [&](SampleRequest r, const Objective& o = *mdlm()) {
    return test::error_of([&] { run_sampler(*model, o, kSpecial, r); });
  };
  SampleRequest r = semi_ar(SamplerId::ancestral, "dual", 0);
  r.sampler = SamplerId::confidence;
  EXPECT_NE(error(r).find("use --sampler semi_ar"), std::string::npos) << error(r);
  r = semi_ar(SamplerId::ancestral, "full", 0);
  EXPECT_NE(error(r).find("unknown --cache 'full' (valid: none, prefix, dual)"), std::string::npos) << error(r);
  r = semi_ar(SamplerId::ancestral, "prefix", -1);
  EXPECT_NE(error(r).find("--cache-refresh must be 0"), std::string::npos) << error(r);
  ObjectiveContext c;
  c.vocab_size = 50;
  c.special = kSpecial;
  c.diffusion.objective = "bd3lm";
  c.diffusion.block_size = 4;
  const auto bd3lm = make_objective(c);
  r = semi_ar(SamplerId::ancestral, "dual", 0);
  EXPECT_NE(error(r, *bd3lm).find("a bd3lm checkpoint keeps its exact block cache"), std::string::npos)
      << error(r, *bd3lm);
  c.diffusion.objective = "ar";
  c.diffusion.block_size = 0;
  const auto ar = make_objective(c);
  EXPECT_NE(error(r, *ar).find("an ar checkpoint keeps its exact KV cache"), std::string::npos) << error(r, *ar);
}

}  // namespace
}  // namespace unmask
