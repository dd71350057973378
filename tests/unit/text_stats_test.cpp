// Entropy, distinct-n and seq-rep-4 on samples small enough to count by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "unmask/eval/text_stats.h"

namespace unmask {
namespace {

TEST(TextStats, OneSampleByHand) {
  const SampleTextStats s = sample_text_stats({1, 1, 2, 2});
  EXPECT_NEAR(s.entropy, std::log(2.0), 1e-15);  // two ids, half each
  EXPECT_DOUBLE_EQ(s.distinct(1), 0.5);           // {1, 2} of 4
  EXPECT_DOUBLE_EQ(s.distinct(2), 1.0);           // (1,1) (1,2) (2,2)
  EXPECT_DOUBLE_EQ(s.distinct(3), 1.0);
  EXPECT_EQ(s.total[3], 1);
  EXPECT_DOUBLE_EQ(s.rep4(), 0.0);

  const SampleTextStats r = sample_text_stats({5, 5, 5, 5, 5, 5});
  EXPECT_EQ(r.entropy, 0.0);
  EXPECT_DOUBLE_EQ(r.distinct(1), 1.0 / 6);
  EXPECT_DOUBLE_EQ(r.rep4(), 1.0 - 1.0 / 3);  // three 4-grams, all the same

  EXPECT_NEAR(sample_text_stats({1, 2, 3, 4}).entropy, std::log(4.0), 1e-15);
  // p = (1/2, 1/4, 1/4): H = ln 2 / 2 + 2 · ln 4 / 4 = 1.5 ln 2.
  EXPECT_NEAR(sample_text_stats({7, 7, 8, 9}).entropy, 1.5 * std::log(2.0), 1e-15);
}

TEST(TextStats, ShortAndEmptySamplesHaveNoNgrams) {
  const SampleTextStats e = sample_text_stats({});
  EXPECT_EQ(e.tokens, 0);
  EXPECT_EQ(e.entropy, 0.0);
  EXPECT_EQ(e.distinct(1), 0.0);
  const SampleTextStats two = sample_text_stats({3, 4});
  EXPECT_EQ(two.total[2], 0);
  EXPECT_EQ(two.distinct(3), 0.0);
  EXPECT_EQ(two.rep4(), 0.0);
}

TEST(TextStats, IdsAreComparedExactly) {
  const std::int64_t big = std::int64_t{1} << 40;
  const SampleTextStats s = sample_text_stats({big, big + 1, big, big + (std::int64_t{1} << 32)});
  EXPECT_EQ(s.unique[0], 3);
  EXPECT_EQ(s.unique[1], 3);
}

TEST(TextStats, AggregateMeansAndCorpusDistinct) {
  const TextStats t = text_stats({{1, 1, 2, 2}, {5, 5, 5, 5, 5, 5}, {7}});
  EXPECT_EQ(t.samples, 3);
  EXPECT_EQ(t.tokens, 11);
  EXPECT_NEAR(t.mean_entropy, std::log(2.0) / 3, 1e-15);
  EXPECT_NEAR(t.mean_distinct[0], (0.5 + 1.0 / 6 + 1.0) / 3, 1e-15);
  EXPECT_NEAR(t.mean_distinct[1], (1.0 + 1.0 / 5) / 2, 1e-15);  // the one-token sample has no bigram
  EXPECT_NEAR(t.mean_distinct[3], (1.0 + 1.0 / 3) / 2, 1e-15);
  EXPECT_NEAR(t.mean_rep4, (0.0 + 2.0 / 3) / 2, 1e-15);
  EXPECT_NEAR(t.corpus_distinct[0], 4.0 / 11, 1e-15);  // ids {1, 2, 5, 7}
  EXPECT_NEAR(t.corpus_distinct[1], 4.0 / 8, 1e-15);   // (1,1) (1,2) (2,2) (5,5)
  EXPECT_NEAR(t.corpus_distinct[3], 2.0 / 4, 1e-15);   // (1,1,2,2) and (5,5,5,5)
  ASSERT_EQ(t.per_sample.size(), 3u);
  EXPECT_EQ(t.per_sample[2].tokens, 1);
}

TEST(TextStats, SharedNgramsCountOnceInTheCorpus) {
  const TextStats t = text_stats({{1, 2, 3}, {1, 2, 3}});
  EXPECT_DOUBLE_EQ(t.mean_distinct[0], 1.0);
  EXPECT_DOUBLE_EQ(t.corpus_distinct[0], 0.5);
  EXPECT_DOUBLE_EQ(t.corpus_distinct[2], 0.5);
  EXPECT_EQ(text_stats({}).mean_entropy, 0.0);
}

}  // namespace
}  // namespace unmask
