// The order in which one rank visits rows: epoch after epoch, each epoch a
// fresh seeded permutation (or identity without shuffling); rank r of W takes
// positions r, r+W, r+2W, ... of the epoch, so the ranks together cover every
// row exactly once per epoch. The position (epoch, cursor) is the whole state:
// saved with a checkpoint, it lets a resumed run see exactly the rows it would
// have seen.
#pragma once

#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

#include "unmask/data/permutation.h"

namespace unmask {

struct RowSamplerState {
  std::uint64_t epoch = 0;
  std::uint64_t cursor = 0;  // rows this rank has taken in this epoch
};

class RowSampler {
 public:
  RowSampler(std::uint64_t num_rows, std::uint64_t seed, bool shuffle, std::int64_t rank, std::int64_t world_size);

  std::uint64_t next();  // the next row index for this rank
  std::uint64_t rows_per_epoch() const;  // this rank's share of an epoch

  // The full state, including what must match on restore.
  nlohmann::json state() const;
  // Error naming the difference if the state belongs to other data/seed/world.
  void restore(const nlohmann::json& state);

  std::uint64_t epoch() const { return pos_.epoch; }
  std::uint64_t cursor() const { return pos_.cursor; }

 private:
  std::uint64_t num_rows_, seed_;
  bool shuffle_;
  std::int64_t rank_, world_;
  RowSamplerState pos_;
  std::optional<Permutation> perm_;  // of the current epoch
  void start_epoch();
};

}  // namespace unmask
