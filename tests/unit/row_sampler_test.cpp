// Row order: the Feistel permutation is a bijection, epochs reshuffle, ranks
// cover every row exactly once, and the position saves and restores exactly.
#include <gtest/gtest.h>

#include <set>
#include <utility>
#include <vector>

#include "test_util.h"
#include "unmask/data/permutation.h"
#include "unmask/data/row_sampler.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

TEST(Permutation, IsABijectionForManySizes) {
  for (std::uint64_t n : {1ull, 2ull, 3ull, 5ull, 17ull, 64ull, 1000ull, 4097ull, 70001ull}) {
    const Permutation p(n, 42);
    std::vector<char> seen(n, 0);
    for (std::uint64_t i = 0; i < n; ++i) {
      const auto x = p(i);
      ASSERT_LT(x, n);
      ASSERT_FALSE(seen[x]) << "n=" << n << " duplicate " << x;
      seen[x] = 1;
    }
  }
}

TEST(Permutation, DependsOnTheSeedOnly) {
  const Permutation a(1000, 1), b(1000, 1), c(1000, 2);
  int moved = 0, differ = 0;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    EXPECT_EQ(a(i), b(i));
    differ += a(i) != c(i);
    moved += a(i) != i;
  }
  EXPECT_GT(differ, 900);
  EXPECT_GT(moved, 900);
}

std::vector<std::uint64_t> take(RowSampler& s, std::size_t n) {
  std::vector<std::uint64_t> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(s.next());
  return out;
}

TEST(RowSampler, WithoutShuffleVisitsRowsInOrder) {
  RowSampler s(5, 0, false, 0, 1);
  EXPECT_EQ(take(s, 7), (std::vector<std::uint64_t>{0, 1, 2, 3, 4, 0, 1}));
  EXPECT_EQ(s.epoch(), 1u);
}

TEST(RowSampler, EachEpochIsAFreshPermutation) {
  RowSampler s(100, 9, true, 0, 1);
  const auto e0 = take(s, 100), e1 = take(s, 100);
  EXPECT_EQ(std::set<std::uint64_t>(e0.begin(), e0.end()).size(), 100u);
  EXPECT_EQ(std::set<std::uint64_t>(e1.begin(), e1.end()).size(), 100u);
  EXPECT_NE(e0, e1);
}

TEST(RowSampler, RanksCoverEveryRowExactlyOnce) {
  for (std::int64_t world : {1, 2, 3, 7}) {
    const std::uint64_t n = 100;
    std::vector<int> count(n, 0);
    std::uint64_t total = 0;
    for (std::int64_t rank = 0; rank < world; ++rank) {
      RowSampler s(n, 5, true, rank, world);
      total += s.rows_per_epoch();
      for (std::uint64_t i = 0; i < s.rows_per_epoch(); ++i) ++count[s.next()];
    }
    EXPECT_EQ(total, n);
    for (std::uint64_t r = 0; r < n; ++r) ASSERT_EQ(count[r], 1) << "world " << world << " row " << r;
  }
}

TEST(RowSampler, RestoredPositionContinuesExactly) {
  RowSampler a(37, 3, true, 1, 2);
  take(a, 25);  // crosses an epoch boundary (18 rows per epoch on rank 1)
  const auto saved = a.state();
  const auto expected = take(a, 60);
  RowSampler b(37, 3, true, 1, 2);
  b.restore(saved);
  EXPECT_EQ(take(b, 60), expected);
}

TEST(RowSampler, RestoreRefusesAnotherSetting) {
  RowSampler a(37, 3, true, 0, 1);
  const auto saved = a.state();
  RowSampler other_rows(38, 3, true, 0, 1), other_seed(37, 4, true, 0, 1), other_world(37, 3, true, 0, 2);
  EXPECT_THROW(other_rows.restore(saved), Error);
  EXPECT_THROW(other_seed.restore(saved), Error);
  try {
    other_world.restore(saved);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("world_size"), std::string::npos) << e.what();
  }
  EXPECT_THROW(other_rows.restore(nlohmann::json{{"epoch", 1}}), Error);
}

TEST(RowSampler, BadRankOrWorldIsAnError) {
  EXPECT_THROW(RowSampler(10, 0, true, 2, 2), Error);
  EXPECT_THROW(RowSampler(10, 0, true, 0, 0), Error);
  EXPECT_THROW(RowSampler(1, 0, true, 0, 2), Error);
}

// Found by fuzz_trainer_state: "rows": 1e29 (a float) was cast to an integer,
// undefined behaviour; numbers of the wrong kind or range are now refused.
TEST(RowSampler, ALoaderStateWithAFloatOrOutOfRangeNumberIsRefused) {
  RowSampler a(100, 7, true, 0, 1);
  const auto saved = a.state();
  for (const auto& [key, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"rows", 1.00333e29}, {"rows", 100.0}, {"epoch", -1}, {"cursor", 2.5}, {"rank", 1e300}, {"shuffle", 1}}) {
    auto damaged = saved;
    damaged[key] = value;
    RowSampler b(100, 7, true, 0, 1);
    EXPECT_NE(unmask::test::error_of([&] { b.restore(damaged); }).find("invalid loader state"), std::string::npos)
        << key << " = " << value.dump();
  }
}

}  // namespace
}  // namespace unmask
