// Counter-based random numbers for the samplers: every uniform a sampler uses
// is a pure function of (sample key, draw site, index), evaluated for the
// whole batch on the model's device (tensor operations; on the CPU one loop
// with the same bits). Sample i draws the
// same numbers whatever the batch size or the other samples, a step costs the
// same number of operations for N = 1 and N = 512, and nothing crosses to the
// host.
//
// Generator: SplitMix64 (Steele, Lea & Flood 2014), the counter-based form of
// `splitmix64` in util/hash.h. For sample key k_i (its stream seed), draw site
// salt s (phase, step, draw; mixed on the host) and index j:
//   bits(i, s, j) = splitmix64((k_i ⊕ s) + j·γ),   u = ⌊bits / 2^11⌋ · 2^-53 ∈ [0, 1)
// i.e. the (j+1)-th output of a SplitMix64 stream seeded with k_i ⊕ s.
// Tensor arithmetic is int64 with two's-complement wrap-around (the same bits
// as uint64); logical shifts are arithmetic shifts masked to the low bits.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "unmask/util/hash.h"

namespace unmask {

// The salt of one draw site: phase (0: the whole canvas; block b of semi_ar:
// b + 1), step within the phase, and which draw of the step.
inline std::uint64_t draw_site(std::int64_t phase, std::int64_t step, std::int64_t draw) {
  return splitmix64(splitmix64(splitmix64(static_cast<std::uint64_t>(phase)) ^ static_cast<std::uint64_t>(step)) ^
                    static_cast<std::uint64_t>(draw));
}

// Host reference of one uniform (tests, and the definition).
inline double counter_uniform(std::uint64_t key, std::uint64_t salt, std::uint64_t index) {
  return static_cast<double>(splitmix64((key ^ salt) + index * 0x9E3779B97F4A7C15ULL) >> 11) * 0x1.0p-53;
}

// (R, count) uniforms of the SplitMix64 streams seeded with keys (R) int64:
// float64 with 53 bits (u = ⌊bits / 2^11⌋ · 2^-53), or float32 with 24 bits
// (⌊bits / 2^40⌋ · 2^-24, what torch.rand gives in float32).
// On the CPU one loop, elsewhere stream_uniform_ops.
at::Tensor stream_uniform(const at::Tensor& keys, std::int64_t count, at::ScalarType dtype);
// The same bits by tensor operations on the keys' device (what CUDA runs;
// tested against the CPU loop and the host definition).
at::Tensor stream_uniform_ops(const at::Tensor& keys, std::int64_t count, at::ScalarType dtype);

class CounterRng {
 public:
  // One key per sample, kept as an (N) int64 tensor on `device`.
  CounterRng(const std::vector<std::uint64_t>& keys, const at::Device& device);
  // (N, count) float64 uniforms in [0, 1) of site `salt`, indices 0 … count−1, on the device.
  at::Tensor uniform(std::uint64_t salt, std::int64_t count) const;
  // The same for a salt held on the device, (1) int64 (a row of site_table):
  // a step that looks its salt up by its index can be replayed from a CUDA graph.
  at::Tensor uniform(const at::Tensor& salt, std::int64_t count) const;
  // (S) int64 on the device: the salts draw_site(phase, k, draw) of steps k = 0 … S−1.
  at::Tensor site_table(std::int64_t phase, std::int64_t steps, std::int64_t draw) const;
  std::int64_t size() const { return keys_.size(0); }

 private:
  at::Tensor keys_;  // (N) int64
};

}  // namespace unmask
