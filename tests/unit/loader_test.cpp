// DataLoader: tensor shapes, determinism under a seed, rank sharding that
// covers every row once, and exact continuation after save/restore.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_util.h"
#include "unmask/data/loader.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

using namespace unmask::test;

std::shared_ptr<const ShardedSplit> val_split() {
  return std::make_shared<const ShardedSplit>(fortune_data(), "val");
}

LoaderOptions options(RowMode mode, std::int64_t batch, std::uint64_t seed) {
  LoaderOptions o;
  o.mode = mode;
  o.length = 32;
  o.batch_size = batch;
  o.seed = seed;
  return o;
}

TEST(Loader, BatchesHaveTheDocumentedShapesAndTypes) {
  DataLoader loader(val_split(), options(RowMode::Pad, 4, 0));
  const Batch b = loader.next();
  EXPECT_EQ(b.tokens.sizes(), (std::vector<std::int64_t>{4, 32}));
  EXPECT_EQ(b.tokens.scalar_type(), torch::kInt64);
  EXPECT_EQ(b.pad_mask.scalar_type(), torch::kBool);
  EXPECT_TRUE((b.tokens.select(1, 0) == 2).all().item<bool>());  // BOS first
  // Padding exactly where the mask is false.
  EXPECT_TRUE((b.tokens.masked_select(b.pad_mask.logical_not()) == 0).all().item<bool>());
  EXPECT_TRUE((b.tokens.masked_select(b.pad_mask) != 0).all().item<bool>());
}

TEST(Loader, SameSeedSameBatchesOtherSeedOtherBatches) {
  DataLoader a(val_split(), options(RowMode::Wrap, 8, 11)), b(val_split(), options(RowMode::Wrap, 8, 11)),
      c(val_split(), options(RowMode::Wrap, 8, 12));
  bool differs = false;
  for (int i = 0; i < 20; ++i) {
    const auto ba = a.next(), bb = b.next(), bc = c.next();
    ASSERT_TRUE(torch::equal(ba.tokens, bb.tokens));
    differs |= !torch::equal(ba.tokens, bc.tokens);
  }
  EXPECT_TRUE(differs);
}

// All rows of one epoch, gathered from every rank, as sorted row tensors.
std::vector<std::vector<std::int64_t>> epoch_rows(std::int64_t world, bool shuffle) {
  std::vector<std::vector<std::int64_t>> rows;
  for (std::int64_t rank = 0; rank < world; ++rank) {
    auto o = options(RowMode::Pad, 1, 5);
    o.shuffle = shuffle;
    o.rank = rank;
    o.world_size = world;
    DataLoader loader(val_split(), o);
    const auto per_rank = (loader.num_rows() - rank + world - 1) / world;
    for (std::uint64_t i = 0; i < per_rank; ++i) {
      const auto t = loader.next().tokens.contiguous();
      rows.emplace_back(t.data_ptr<std::int64_t>(), t.data_ptr<std::int64_t>() + t.numel());
    }
    EXPECT_EQ(loader.epoch(), 0u);
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

TEST(Loader, RanksTogetherSeeEveryRowOncePerEpoch) {
  const auto reference = epoch_rows(1, false);
  EXPECT_EQ(reference.size(), val_split()->num_docs());
  EXPECT_EQ(epoch_rows(1, true), reference);
  EXPECT_EQ(epoch_rows(3, true), reference);
}

TEST(Loader, RestoredStateContinuesBatchForBatch) {
  DataLoader a(val_split(), options(RowMode::Wrap, 16, 3));
  while (a.epoch() == 0) a.next();  // past the end of the first epoch, mid-way into the second
  for (int i = 0; i < 7; ++i) a.next();
  const auto state = a.state();
  std::vector<torch::Tensor> expected;
  for (int i = 0; i < 10; ++i) expected.push_back(a.next().tokens);
  DataLoader b(val_split(), options(RowMode::Wrap, 16, 3));
  b.restore(state);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(torch::equal(b.next().tokens, expected[i])) << "batch " << i;
}

TEST(Loader, RestoreRefusesADifferentCut) {
  DataLoader a(val_split(), options(RowMode::Wrap, 4, 3));
  const auto state = a.state();
  auto o = options(RowMode::Wrap, 4, 3);
  o.length = 64;
  DataLoader b(val_split(), o);
  EXPECT_THROW(b.restore(state), Error);
  DataLoader c(val_split(), options(RowMode::Pad, 4, 3));
  EXPECT_THROW(c.restore(state), Error);
  EXPECT_THROW(DataLoader(val_split(), options(RowMode::Pad, 0, 3)), Error);
}

}  // namespace
}  // namespace unmask
