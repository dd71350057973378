// Epochs, shuffling and rank sharding of row indices.
#include "unmask/data/row_sampler.h"

#include <fmt/format.h>

#include <type_traits>

#include "unmask/util/error.h"
#include "unmask/util/hash.h"
#include "unmask/util/json_number.h"

namespace unmask {

RowSampler::RowSampler(std::uint64_t num_rows, std::uint64_t seed, bool shuffle, std::int64_t rank,
                       std::int64_t world_size)
    : num_rows_(num_rows), seed_(seed), shuffle_(shuffle), rank_(rank), world_(world_size) {
  if (world_size < 1) throw Error(fmt::format("world size must be at least 1, got {}", world_size));
  if (rank < 0 || rank >= world_size)
    throw Error(fmt::format("rank {} is outside [0, {}) for world size {}", rank, world_size, world_size));
  if (num_rows < static_cast<std::uint64_t>(world_size))
    throw Error(fmt::format("{} rows cannot be shared among {} ranks", num_rows, world_size));
  start_epoch();
}

std::uint64_t RowSampler::rows_per_epoch() const {
  const auto r = static_cast<std::uint64_t>(rank_), w = static_cast<std::uint64_t>(world_);
  return (num_rows_ - r + w - 1) / w;
}

void RowSampler::start_epoch() {
  if (shuffle_) perm_.emplace(num_rows_, splitmix64(seed_) ^ splitmix64(pos_.epoch + 0x1234567ULL));
}

std::uint64_t RowSampler::next() {
  if (pos_.cursor >= rows_per_epoch()) {
    ++pos_.epoch;
    pos_.cursor = 0;
    start_epoch();
  }
  const std::uint64_t i = static_cast<std::uint64_t>(rank_) + pos_.cursor * static_cast<std::uint64_t>(world_);
  ++pos_.cursor;
  return shuffle_ ? (*perm_)(i) : i;
}

nlohmann::json RowSampler::state() const {
  return {{"epoch", pos_.epoch}, {"cursor", pos_.cursor}, {"rows", num_rows_}, {"seed", seed_},
          {"shuffle", shuffle_}, {"rank", rank_}, {"world_size", world_}};
}

void RowSampler::restore(const nlohmann::json& state) {
  try {
    // Integers exactly (a float or an out-of-range number is a damaged state, not a cast).
    auto read = [&](const char* key, auto like) {
      using T = decltype(like);
      const auto& v = state.at(key);
      if constexpr (std::is_same_v<T, bool>) {
        return v.get<bool>();  // type_error unless a boolean
      } else {
        const auto n = exact_integer<T>(v);
        if (!n) throw Error(std::string("invalid loader state: '") + key + "' is not an integer of the right range");
        return *n;
      }
    };
    auto check = [&](const char* key, auto expected) {
      const auto saved = read(key, expected);
      if (saved != expected)
        throw Error(fmt::format("cannot restore the loader position: it was saved with {} = {} but this run has {} "
                                "(the data, seed or world size changed)",
                                key, saved, expected));
    };
    check("rows", num_rows_);
    check("seed", seed_);
    check("shuffle", shuffle_);
    check("rank", rank_);
    check("world_size", world_);
    pos_.epoch = read("epoch", std::uint64_t{});
    pos_.cursor = read("cursor", std::uint64_t{});
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("invalid loader state: ") + e.what());
  }
  if (pos_.cursor > rows_per_epoch()) throw Error("invalid loader state: cursor beyond the epoch");
  start_epoch();
}

}  // namespace unmask
