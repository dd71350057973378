// Feistel-network permutation with cycle walking.
#include "unmask/data/permutation.h"

#include "unmask/util/error.h"
#include "unmask/util/hash.h"

namespace unmask {

Permutation::Permutation(std::uint64_t n, std::uint64_t seed) : n_(n) {
  if (n == 0) throw Error("cannot permute an empty range");
  unsigned bits = 2;
  while (bits < 64 && (1ULL << bits) < n) bits += 2;
  half_bits_ = bits / 2;
  half_mask_ = (1ULL << half_bits_) - 1;
  std::uint64_t k = splitmix64(seed ^ 0x5EEDF00DULL);
  for (auto& key : keys_) key = k = splitmix64(k);
}

std::uint64_t Permutation::encrypt(std::uint64_t x) const {
  std::uint64_t left = x >> half_bits_, right = x & half_mask_;
  for (std::uint64_t key : keys_) {
    const std::uint64_t next = left ^ (splitmix64(right ^ key) & half_mask_);
    left = right;
    right = next;
  }
  return (left << half_bits_) | right;
}

std::uint64_t Permutation::operator()(std::uint64_t i) const {
  if (i >= n_) throw Error("permutation index out of range");
  // The domain has at most 4n elements, so this walks ~4 steps at worst on average.
  std::uint64_t x = encrypt(i);
  while (x >= n_) x = encrypt(x);
  return x;
}

}  // namespace unmask
