// Batches of rows from a prepared split as CPU tensors: RowSource (pad | wrap)
// in the order of a RowSampler (seeded shuffle, rank sharding, resumable).
#pragma once

#include <cstdint>
#include <memory>

#include <nlohmann/json.hpp>

#include "unmask/data/batch.h"
#include "unmask/data/dataset.h"
#include "unmask/data/row_sampler.h"

namespace unmask {

struct LoaderOptions {
  RowMode mode = RowMode::Pad;
  std::int64_t length = 128;      // L, BOS and EOS included
  std::int64_t batch_size = 32;   // rows per batch on this rank
  std::uint64_t seed = 0;
  bool shuffle = true;
  bool pad_loss = false;          // data.pad_loss: padding after EOS is trained on
  std::int64_t rank = 0;
  std::int64_t world_size = 1;
};

class DataLoader {
 public:
  DataLoader(std::shared_ptr<const ShardedSplit> split, LoaderOptions options);

  Batch next();  // never ends: epochs follow one another
  std::uint64_t num_rows() const { return rows_.num_rows(); }
  std::uint64_t epoch() const { return sampler_.epoch(); }

  nlohmann::json state() const;            // save with a checkpoint
  void restore(const nlohmann::json& state);

 private:
  std::shared_ptr<const ShardedSplit> split_;
  LoaderOptions options_;
  RowSource rows_;
  RowSampler sampler_;
};

}  // namespace unmask
