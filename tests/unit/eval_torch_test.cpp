// The torch side of evaluation against direct computations: an ar model's
// perplexity is exp(mean cross-entropy) of its next-token predictions, and
// gen-ppl scores each sample as [BOS] ids whatever the batch and its padding.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "test_util.h"
#include "torch_test_util.h"
#include "unmask/data/dataset.h"
#include "unmask/eval/elbo.h"
#include "unmask/eval/gen_ppl.h"

namespace unmask {
namespace {

RunModel tiny_ar() {
  RunModel m;
  m.tokenizer = load_tokenizer(test::fortune_tokenizer());
  m.config.data.mode = "pad";
  m.config.data.length = 24;
  m.config.diffusion.objective = "ar";
  m.config.model.max_length = 24;
  ObjectiveContext ctx{m.config.diffusion, m.tokenizer->special(), m.tokenizer->vocab_size(), {}};
  m.objective = make_objective(ctx);
  torch::manual_seed(5);
  BackboneOptions o = test::tiny_backbone("bert", "none", true);
  o.vocab_size = m.tokenizer->vocab_size();
  o.model.max_length = 24;
  m.model = make_backbone(o);
  m.model->eval();
  m.trained = true;  // as if trained by unmask: its losses left [MASK] out
  return m;
}

// −log p(ids[i] | ids[<i]) summed over i ≥ 1, one unbatched forward, with
// [MASK] out of the softmax (MDLM's AR backbone sets its logit to −1e6).
double direct_nll(RunModel& m, const std::vector<std::int64_t>& ids, std::int64_t* count, bool without_mask = true) {
  torch::NoGradGuard no_grad;
  const at::Tensor x = torch::tensor(ids, torch::kLong).unsqueeze(0);
  at::Tensor logits = m.model->forward(x, at::Tensor(), at::Tensor())[0].clone();  // (L, V)
  if (without_mask) logits.select(1, m.tokenizer->special().mask).fill_(-1e6);
  *count = static_cast<std::int64_t>(ids.size()) - 1;
  return torch::nn::functional::cross_entropy(logits.narrow(0, 0, *count), x[0].narrow(0, 1, *count),
                                              torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
      .item<double>();
}

TEST(EvalTorch, ArPerplexityIsExpOfTheMeanCrossEntropy) {
  RunModel m = tiny_ar();
  ElboOptions o;
  o.split = "val";
  o.batch_size = 7;  // batches with padding of different widths
  o.max_rows = 30;
  o.progress = false;
  const ElboResult r = evaluate_elbo(m, test::fortune_data(), o);
  EXPECT_EQ(r.method, "exact");
  const ShardedSplit split(test::fortune_data(), "val");
  const RowSource rows(split, RowMode::Pad, 24);
  double nll = 0;
  std::int64_t tokens = 0;
  for (std::uint64_t i = 0; i < 30; ++i) {
    std::vector<std::int64_t> ids(24);
    bool mask[24];
    rows.row(i, ids.data(), mask);
    std::int64_t real = 0;
    while (real < 24 && mask[real]) ++real;
    ids.resize(static_cast<std::size_t>(real));
    std::int64_t count = 0;
    nll += direct_nll(m, ids, &count);
    tokens += count;
  }
  EXPECT_EQ(r.tokens, tokens);
  EXPECT_NEAR(r.nelbo_per_token, nll / static_cast<double>(tokens), 1e-5);
  EXPECT_NEAR(r.ppl, std::exp(nll / static_cast<double>(tokens)), 1e-3);
}

TEST(EvalTorch, GenPplScoresEachSampleAsBosThenItsIds) {
  RunModel m = tiny_ar();
  const std::vector<std::vector<std::int64_t>> samples = {{10, 11, 12, 3}, {20, 21, 22, 23, 24, 25, 26, 27, 28}, {30}};
  const GenPplResult g = score_samples(m, samples, 2);
  double total = 0;
  std::int64_t tokens = 0;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    std::vector<std::int64_t> ids = {2};
    ids.insert(ids.end(), samples[i].begin(), samples[i].end());
    std::int64_t count = 0;
    const double nll = direct_nll(m, ids, &count);
    EXPECT_NEAR(g.sample_ppl[i], std::exp(nll / static_cast<double>(count)), 1e-3 * g.sample_ppl[i]) << i;
    total += nll;
    tokens += count;
  }
  EXPECT_EQ(g.tokens, tokens);
  EXPECT_NEAR(g.nll_per_token, total / static_cast<double>(tokens), 1e-5);
  // Longer than the scorer's context (24): chunks of 24, the first token of each only context.
  const GenPplResult long_one = score_samples(m, {std::vector<std::int64_t>(50, 17)}, 4);
  EXPECT_EQ(long_one.context, 24);
  EXPECT_EQ(long_one.tokens, 51 - 3);  // [BOS] + 50 ids = 51 tokens in 3 chunks
}

// An imported scorer (no unmask training) keeps its whole distribution: a
// [MASK] of its own tokenizer is a token like any other there, and leaving
// it out would change every probability.
TEST(EvalTorch, GenPplLeavesMaskOutOnlyForModelsTrainedWithout) {
  RunModel m = tiny_ar();
  const std::vector<std::int64_t> ids = {2, 10, 11, 12, 3};
  const std::vector<std::vector<std::int64_t>> samples = {{10, 11, 12, 3}};
  std::int64_t count = 0;
  const double with_exclusion = direct_nll(m, ids, &count, true), whole = direct_nll(m, ids, &count, false);
  ASSERT_GT(std::abs(with_exclusion - whole), 1e-4);  // the model puts mass on [MASK]: the rule matters
  EXPECT_NEAR(score_samples(m, samples, 1).nll_per_token, with_exclusion / count, 1e-5);
  m.trained = false;
  EXPECT_NEAR(score_samples(m, samples, 1).nll_per_token, whole / count, 1e-5);
}

}  // namespace
}  // namespace unmask
