// Block diffusion (diffusion.objective=bd3lm): the x_t ⊕ x_0 attention
// pattern and the loss against a transcription of bd3lms
// (tests/fixtures/make_bd3lm_fixtures.py); L′ = L is MDLM draw for draw;
// L′ = 1 predicts each token from its clean prefix, as a causal model does;
// no x_t position depends on its own or a later block's x_0.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_util.h"
#include "torch_test_util.h"
#include "unmask/diffusion/clip_search.h"
#include "unmask/diffusion/objective.h"
#include "unmask/model/backbone.h"
#include "unmask/model/block_input.h"
#include "unmask/model/model_loss.h"
#include "unmask/util/error.h"
#include "unmask/util/safetensors.h"

namespace unmask {
namespace {

namespace fs = std::filesystem;

const SafetensorsFile& reference() {
  static const SafetensorsFile f = [] {
    static const test::TempDir keep;  // outlives `f` (destroyed after it), removed at exit
    const fs::path dir = keep / "bd3lm";
    const std::string cmd = std::string(UNMASK_PYTHON) + " " + UNMASK_SOURCE_DIR +
                            "/tests/fixtures/make_bd3lm_fixtures.py " + dir.string() + " 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
    return load_safetensors(dir / "bd3lm.safetensors");
  }();
  return f;
}

ObjectiveContext bd3lm_context(std::int64_t block_size, std::int64_t vocab) {
  ObjectiveContext c;
  c.diffusion.objective = "bd3lm";
  c.diffusion.block_size = block_size;
  c.vocab_size = vocab;
  c.special.mask = static_cast<int>(vocab - 1);
  return c;
}

TEST(BlockDiffusion, MaskMatchesBd3lmsBlockDiffMask) {
  for (const auto& [n, bs] : std::vector<std::pair<int, int>>{{8, 2}, {8, 4}, {6, 1}, {6, 6}, {12, 3}}) {
    const at::Tensor want = reference().tensors.at("mask_" + std::to_string(n) + "_" + std::to_string(bs)).to(torch::kBool);
    const at::Tensor got = block_diffusion_mask(n, bs, torch::TensorOptions());
    EXPECT_TRUE(torch::equal(got, want)) << "n " << n << " block " << bs;
  }
  EXPECT_THROW(block_diffusion_mask(8, 3, torch::TensorOptions()), Error);  // 3 does not divide 8
}

TEST(BlockDiffusion, LossMatchesBd3lmsSubsLoss) {
  const auto& r = reference().tensors;
  const std::int64_t V = r.at("logits").size(2);
  const auto obj = make_objective(bd3lm_context(2, V));
  Batch batch{r.at("x0"), r.at("attention_mask").to(torch::kBool), true};
  Noised n;
  n.x_t = r.at("xt");
  n.t = r.at("t");
  n.masked = r.at("masked").to(torch::kBool);
  n.cond = torch::zeros({batch.tokens.size(0)});
  const LossOutput out = obj->loss(r.at("logits"), batch, n);
  EXPECT_NEAR(out.loss.item<double>(), r.at("loss").item<double>(), 1e-5);
  EXPECT_GT(n.masked.sum().item<int64_t>(), 3);  // the case masks something in several blocks
}

// A tiny backbone with every weight random: the DiT's zero-initialised
// output and adaLN layers would make every logit 0 and the checks vacuous.
Backbone random_backbone(const std::string& backbone, bool causal = false) {
  auto model = make_backbone(test::tiny_backbone(backbone, "none", causal));
  torch::NoGradGuard no_grad;
  for (auto& p : model->parameters()) p.normal_(0.0, 0.3);
  model->eval();
  return model;
}

Batch text_batch(std::int64_t B, std::int64_t L, std::int64_t V, std::uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  Batch b;
  b.tokens = torch::randint(0, V - 1, {B, L}, gen, torch::kLong);
  b.pad_mask = torch::ones({B, L}, torch::kBool);
  b.pad_mask[B - 1].narrow(0, L - 3, 3).fill_(false);  // one padded row
  b.has_padding = true;
  return b;
}

// With one block the row is MDLM's: same times, same masks, same loss.
TEST(BlockDiffusion, OneBlockIsMdlmDrawForDraw) {
  for (const std::string backbone : {"dit", "bert"}) {
    const std::int64_t L = 16, V = 50;
    torch::manual_seed(1);
    auto model = random_backbone(backbone);
    const Batch batch = text_batch(4, L, V, 3);
    ObjectiveContext mdlm_ctx = bd3lm_context(L, V);
    mdlm_ctx.diffusion.objective = "mdlm";
    const auto mdlm = make_objective(mdlm_ctx);
    const auto bd3lm = make_objective(bd3lm_context(L, V));
    auto g1 = at::detail::createCPUGenerator(11), g2 = at::detail::createCPUGenerator(11);
    const Noised a = mdlm->corrupt(batch, g1), b = bd3lm->corrupt_bound(batch, g2);
    ASSERT_TRUE(torch::equal(a.masked, b.masked)) << backbone;
    ASSERT_TRUE(torch::allclose(a.t, b.t.squeeze(1))) << backbone;
    ASSERT_GT(a.masked.sum().item<int64_t>(), 0);
    for (bool rows : {false, true}) {
      torch::NoGradGuard no_grad;
      const double la = model_loss(*model, *mdlm, batch, a, batch.pad_mask, false, rows).loss.item<double>();
      const double lb = model_loss(*model, *bd3lm, batch, b, batch.pad_mask, false, rows).loss.item<double>();
      EXPECT_NEAR(la, lb, 1e-5 * std::abs(la)) << backbone << " masked_head " << rows;
    }
  }
}

// L′ = 1, everything masked: x_t position i sees its own [MASK] and the clean
// x_0 before it, which attend causally among themselves: the logits of a
// causal model over [x_0^{<i}, MASK] at position i, the AR loss of the prefix.
TEST(BlockDiffusion, BlockSizeOnePredictsEachTokenFromItsCleanPrefix) {
  for (const std::string backbone : {"dit", "bert"}) {
    const std::int64_t L = 10, V = 50, mask = V - 1;
    torch::manual_seed(2);
    auto model = random_backbone(backbone);
    auto causal = random_backbone(backbone, /*causal=*/true);
    {
      torch::NoGradGuard no_grad;
      auto src = model->named_parameters();
      for (auto& p : causal->named_parameters()) p.value().copy_(src[p.key()]);
    }
    model->eval();
    causal->eval();
    const at::Tensor x0 = text_batch(1, L, V, 5).tokens;
    const at::Tensor x_t = torch::full({1, L}, mask, torch::kLong);
    torch::NoGradGuard no_grad;
    const at::Tensor blocks = model->forward_blocks(x_t, x0, at::Tensor(), at::Tensor(), 1, at::Tensor());  // (1, L, V)
    for (std::int64_t i = 0; i < L; ++i) {
      const at::Tensor seq = torch::cat({x0.narrow(1, 0, i), x_t.narrow(1, i, 1)}, 1);  // (1, i + 1)
      const at::Tensor ar = causal->forward(seq, at::Tensor(), at::Tensor()).select(1, i);
      EXPECT_LT((blocks.select(1, i) - ar).abs().max().item<float>(), 1e-4) << backbone << " position " << i;
      if (i == L - 1) EXPECT_GT(ar.abs().max().item<float>(), 1.0f);  // not vacuous
    }
  }
}

// The logits of block b do not change when x_0 of block b or later changes,
// and do change when an earlier block's x_0 does (the check can fail).
TEST(BlockDiffusion, NoPositionSeesItsOwnOrALaterBlocksCleanTokens) {
  for (const std::string backbone : {"dit", "bert"}) {
    const std::int64_t L = 12, V = 50, bs = 4;
    torch::manual_seed(3);
    auto model = random_backbone(backbone);
    const Batch batch = text_batch(2, L, V, 7);
    auto gen = at::detail::createCPUGenerator(1);
    const Noised n = make_objective(bd3lm_context(bs, V))->corrupt_bound(batch, gen);
    torch::NoGradGuard no_grad;
    const at::Tensor base = model->forward_blocks(n.x_t, batch.tokens, n.cond, batch.pad_mask, bs, at::Tensor());
    for (std::int64_t b = 0; b < L / bs; ++b) {
      at::Tensor later = batch.tokens.clone();
      later.narrow(1, b * bs, L - b * bs).random_(0, V - 1);  // own and later blocks' x_0
      const at::Tensor moved = model->forward_blocks(n.x_t, later, n.cond, batch.pad_mask, bs, at::Tensor());
      EXPECT_LT((moved - base).narrow(1, b * bs, bs).abs().max().item<float>(), 1e-6) << backbone << " block " << b;
      if (b > 0) {
        at::Tensor earlier = batch.tokens.clone();
        earlier.narrow(1, 0, bs).random_(0, V - 1);  // block 0's x_0
        const at::Tensor seen = model->forward_blocks(n.x_t, earlier, n.cond, batch.pad_mask, bs, at::Tensor());
        EXPECT_GT((seen - base).narrow(1, b * bs, bs).abs().max().item<float>(), 1e-4) << backbone << " block " << b;
      }
    }
  }
}

TEST(BlockDiffusion, TrainingDrawsClippedTimesPerBlock) {
  ObjectiveContext c = bd3lm_context(4, 50);
  c.diffusion.clip_min = 0.3;
  c.diffusion.clip_max = 0.8;
  const auto obj = make_objective(c);
  const Batch batch = text_batch(8, 16, 50, 9);
  auto gen = at::detail::createCPUGenerator(2);
  const Noised n = obj->corrupt(batch, gen);
  ASSERT_EQ(n.t.sizes(), (std::vector<int64_t>{8, 4}));
  EXPECT_GE(n.t.min().item<double>(), 0.3);
  EXPECT_LT(n.t.max().item<double>(), 0.8);
  // Stratified over the 32 (row, block) pairs: one draw in each 1/32 of the range.
  const at::Tensor strata = std::get<0>(((n.t.flatten() - 0.3) / 0.5 * 32).floor().sort());
  EXPECT_TRUE(torch::equal(strata, torch::arange(32, torch::kDouble)));
  const Noised bound = obj->corrupt_bound(batch, gen);
  EXPECT_LT(bound.t.min().item<double>(), 0.3);  // the bound covers [eps, 1)
  EXPECT_EQ(n.block_size, 4);
  EXPECT_TRUE(torch::equal(n.context, batch.tokens));
}

// bd3lms metrics.py: [ε, 1] and widths 0.5–0.9 stepped by 0.05: 36 intervals.
TEST(BlockDiffusion, ClipSearchCandidatesAndChoice) {
  const auto c = clip_candidates(1e-3);
  ASSERT_EQ(c.size(), 36u);
  EXPECT_EQ(c[0].lo, 1e-3);
  EXPECT_EQ(c[0].hi, 1.0);
  EXPECT_EQ(c[1].lo, 1e-3);  // [0, 0.5] with its lower end raised to ε
  EXPECT_NEAR(c[11].lo, 0.5, 1e-12);
  EXPECT_NEAR(c[11].hi, 1.0, 1e-12);
  EXPECT_NEAR(c.back().lo, 0.1, 1e-12);  // width 0.9: starts 0, 0.05, 0.1
  EXPECT_NEAR(c.back().hi, 1.0, 1e-12);
  ClipSearch search({{0.1, 0.6}, {0.3, 0.8}, {0.5, 1.0}});
  search.add(0, torch::tensor({1.0, 3.0}));   // variance 2
  search.add(1, torch::tensor({1.0, 1.5}));   // 0.125
  search.add(1, torch::tensor({2.0, 2.5}));   // + 0.125
  search.add(2, torch::tensor({0.0, 1.0}));   // 0.5
  EXPECT_NEAR(search.variance(1), 0.25, 1e-12);
  EXPECT_EQ(search.best().lo, 0.3);
  // The objective draws from the chosen range, and its per-block losses
  // average the weighted token losses over each block.
  const auto obj = make_objective(bd3lm_context(4, 50));
  auto* clipped = dynamic_cast<ClippedObjective*>(obj.get());
  ASSERT_NE(clipped, nullptr);
  clipped->set_clip({0.6, 0.7});
  auto gen = at::detail::createCPUGenerator(5);
  const Batch batch = text_batch(2, 8, 50, 4);
  const Noised n = obj->corrupt(batch, gen);
  EXPECT_GE(n.t.min().item<double>(), 0.6);
  EXPECT_LT(n.t.max().item<double>(), 0.7);
  const at::Tensor logits = torch::randn({2, 8, 50});
  const at::Tensor blocks = clipped->block_losses(logits, batch, n);  // (2, 2)
  ASSERT_EQ(blocks.sizes(), (std::vector<int64_t>{2, 2}));
  EXPECT_NEAR(blocks.sum().item<double>() * 4, obj->loss(logits, batch, n).nelbo_sum.item<double>(), 1e-4);
}

}  // namespace
}  // namespace unmask
