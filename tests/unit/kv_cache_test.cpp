// The KV cache (model/kv_cache.h): cached decoding gives the tokens that
// recomputing the prefix gives, for BD3-LM's blocks within the model's
// context and for AR decoding (dit and gpt2); a cached block's logits equal
// the block-diffusion forward's; past the context both slide.
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

Backbone random_model(const std::string& backbone, bool causal) {
  torch::manual_seed(4);
  BackboneOptions o = test::tiny_backbone(backbone, "none", causal);
  o.model.max_length = 32;
  auto model = make_backbone(o);
  torch::NoGradGuard no_grad;
  for (auto& p : model->parameters()) p.normal_(0.0, 0.3);  // the DiT's zero-initialised output would be uniform
  model->eval();
  return model;
}

std::unique_ptr<Objective> objective(const std::string& name, std::int64_t block_size) {
  ObjectiveContext c;
  c.diffusion.objective = name;
  c.diffusion.block_size = block_size;
  c.vocab_size = 50;
  c.special = {0, 1, 2, 3, 49};
  return make_objective(c);
}

TEST(KvCache, ACachedBlockHasTheBlockDiffusionLogits) {
  auto model = random_model("dit", false);
  const std::int64_t bs = 4;
  const at::Tensor x = torch::randint(4, 49, {2, 12}, torch::kLong);
  at::Tensor noisy = x.clone();
  noisy.narrow(1, 8, bs).select(1, 1).fill_(49);  // a [MASK] in the last block
  torch::NoGradGuard no_grad;
  const at::Tensor want = model->forward_blocks(noisy, x, at::Tensor(), at::Tensor(), bs, at::Tensor()).narrow(1, 8, bs);
  KvCache cache;
  cache.reset(2);
  model->forward_cached(x.narrow(1, 0, 4), at::Tensor(), cache, true, false);
  model->forward_cached(x.narrow(1, 4, 4), at::Tensor(), cache, true, false);
  EXPECT_EQ(cache.length(), 8);
  const at::Tensor got = model->forward_cached(noisy.narrow(1, 8, bs), at::Tensor(), cache, false, false);
  EXPECT_EQ(cache.length(), 8);  // a denoising call does not store
  EXPECT_LT((got - want).abs().max().item<float>(), 1e-4);
  EXPECT_GT(want.abs().max().item<float>(), 1.0f);
  cache.keep_last(4);
  EXPECT_EQ(cache.length(), 4);
}

SampleResult sample(BackboneImpl& model, const Objective& obj, const std::string& sampler, std::int64_t length,
                    bool cached) {
  SampleRequest r;
  r.sampler = parse_sampler(sampler);
  r.num = 3;
  r.length = length;
  r.steps = 6;
  r.seed = 9;
  r.context = 16;
  r.kv_cache = cached;
  r.stop_at_eos = false;
  return run_sampler(model, obj, {0, 1, 2, 3, 49}, r);
}

TEST(KvCache, Bd3lmCachedSamplingEqualsRecomputingThePrefix) {
  for (const std::string backbone : {"dit", "bert"})
  for (const std::string sampler : {"ancestral", "first_hitting", "confidence"}) {
    auto model = random_model(backbone, false);
    const auto obj = objective("bd3lm", 4);
    // Within the context of 16 the two are the same computation.
    const SampleResult a = sample(*model, *obj, sampler, 16, true);
    const SampleResult b = sample(*model, *obj, sampler, 16, false);
    EXPECT_TRUE(torch::equal(a.ids, b.ids)) << backbone << " " << sampler;
    EXPECT_EQ((a.ids == 49).sum().item<int64_t>(), 0) << sampler;  // everything revealed
    EXPECT_EQ(a.network_calls - b.network_calls, 16 / 4) << sampler;  // one store pass per block
    // Past it the window slides: the cache keeps the keys and values its
    // blocks got with the context they had (bd3lms' kv_cache), recomputing
    // sees only the window; both agree on the blocks before the first slide.
    const SampleResult c = sample(*model, *obj, sampler, 40, true);
    const SampleResult e = sample(*model, *obj, sampler, 40, false);
    EXPECT_TRUE(torch::equal(c.ids.narrow(1, 0, 16), e.ids.narrow(1, 0, 16))) << sampler;
    EXPECT_EQ((c.ids == 49).sum().item<int64_t>() + (e.ids == 49).sum().item<int64_t>(), 0) << sampler;
  }
}

TEST(KvCache, Bd3lmRefusesSamplersItCannotRunInBlocks) {
  auto model = random_model("dit", false);
  const auto obj = objective("bd3lm", 4);
  for (const std::string sampler : {"semi_ar", "cached"})
    EXPECT_NE(test::error_of([&] { sample(*model, *obj, sampler, 16, true); }).find("samples block by block"),
              std::string::npos)
        << sampler;
  SampleRequest r;
  r.num = 1;
  r.length = 16;
  r.cuda_graph = true;
  EXPECT_NE(test::error_of([&] { run_sampler(*model, *obj, {0, 1, 2, 3, 49}, r); }).find("--cuda-graph does not apply"),
            std::string::npos);
}

TEST(KvCache, ArCachedDecodingEqualsUncached) {
  for (const std::string backbone : {"dit", "gpt2", "bert"}) {
    auto model = random_model(backbone, true);
    const auto obj = objective("ar", 0);
    const SampleResult a = sample(*model, *obj, "ancestral", 16, true);
    const SampleResult b = sample(*model, *obj, "ancestral", 16, false);
    EXPECT_TRUE(torch::equal(a.ids, b.ids)) << backbone;
    EXPECT_EQ(a.network_calls, b.network_calls) << backbone;
    EXPECT_GT((a.ids.narrow(1, 1, 15) != a.ids.select(1, 1).unsqueeze(1)).sum().item<int64_t>(), 0);  // not constant
  }
}

}  // namespace
}  // namespace unmask
