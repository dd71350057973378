// Hashing: SHA-256 of files (tokenizer fingerprints, via OpenSSL) and the
// splitmix64 mixer used for seeded, order-independent decisions.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>

namespace unmask {

using Digest = std::array<std::uint8_t, 32>;

Digest sha256_file(const std::filesystem::path& path);
Digest sha256_bytes(const std::string& bytes);
std::string to_hex(const Digest& digest);
// Parses 64 hex characters; Error otherwise.
Digest digest_from_hex(const std::string& hex);

// splitmix64 (Steele, Lea & Flood 2014): a bijective 64-bit mixer.
inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// A uniform double in [0, 1) that depends only on (seed, index).
inline double hash_unit(std::uint64_t seed, std::uint64_t index) {
  return static_cast<double>(splitmix64(splitmix64(seed) ^ index) >> 11) * 0x1.0p-53;
}

}  // namespace unmask
