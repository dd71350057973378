// A seeded pseudo-random permutation of [0, n) with O(1) memory and random
// access: a 4-round Feistel network on the smallest even-bit power-of-two
// domain ≥ n, with cycle walking back into [0, n) (Black & Rogaway 2002,
// "Ciphers with arbitrary finite domains"). Shuffling LM1B's 30M rows needs no
// 240 MB index array, and a resumed run recomputes exactly the same order.
#pragma once

#include <cstdint>

namespace unmask {

class Permutation {
 public:
  Permutation(std::uint64_t n, std::uint64_t seed);
  std::uint64_t operator()(std::uint64_t i) const;  // i < n
  std::uint64_t size() const { return n_; }

 private:
  std::uint64_t encrypt(std::uint64_t x) const;
  std::uint64_t n_;
  unsigned half_bits_;
  std::uint64_t half_mask_;
  std::uint64_t keys_[4];
};

}  // namespace unmask
