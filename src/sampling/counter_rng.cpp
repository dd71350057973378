// SplitMix64 evaluated with int64 tensor operations (see counter_rng.h): about
// fifteen element-wise operations on an (N, count) tensor, whatever N is; on
// the CPU the same bits by one loop.
#include "unmask/sampling/counter_rng.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cstring>
#include <type_traits>

namespace unmask {
namespace {

// The same 64 bits read as a signed integer (what an int64 tensor holds).
std::int64_t as_signed(std::uint64_t v) {
  std::int64_t s;
  std::memcpy(&s, &v, sizeof s);
  return s;
}

// z >> k on the uint64 bits: an arithmetic shift with the sign copies cleared.
at::Tensor shift_right(const at::Tensor& z, int k) {
  return z.bitwise_right_shift(k).bitwise_and_(static_cast<std::int64_t>((std::uint64_t{1} << (64 - k)) - 1));
}

// splitmix64's output function on every element of an int64 tensor, in place.
void mix(at::Tensor& z) {
  z.bitwise_xor_(shift_right(z, 30)).mul_(as_signed(0xBF58476D1CE4E5B9ULL));
  z.bitwise_xor_(shift_right(z, 27)).mul_(as_signed(0x94D049BB133111EBULL));
  z.bitwise_xor_(shift_right(z, 31));
}

// The same numbers by one loop on the CPU, where the tensor form's fifteen
// small operations cost more than their arithmetic (docs/BENCHMARKS.md).
template <typename T>
at::Tensor cpu_stream_uniform(const at::Tensor& keys, std::int64_t count, at::ScalarType dtype) {
  const at::Tensor k = keys.contiguous();
  at::Tensor out = torch::empty({k.size(0), count}, k.options().dtype(dtype));  // (R, count)
  const std::int64_t* key = k.data_ptr<std::int64_t>();
  T* dst = out.data_ptr<T>();
  at::parallel_for(0, k.size(0) * count, 4096, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const std::uint64_t bits = splitmix64(static_cast<std::uint64_t>(key[i / count]) +
                                            static_cast<std::uint64_t>(i % count) * 0x9E3779B97F4A7C15ULL);
      if constexpr (std::is_same_v<T, float>) dst[i] = static_cast<float>(bits >> 40) * 0x1.0p-24f;
      else dst[i] = static_cast<double>(bits >> 11) * 0x1.0p-53;
    }
  });
  return out;
}

}  // namespace

CounterRng::CounterRng(const std::vector<std::uint64_t>& keys, const at::Device& device) {
  std::vector<std::int64_t> signed_keys;
  for (const std::uint64_t k : keys) signed_keys.push_back(as_signed(k));
  keys_ = torch::tensor(signed_keys, torch::kLong).to(device);  // once per sampling run
}

at::Tensor stream_uniform(const at::Tensor& keys, std::int64_t count, at::ScalarType dtype) {
  if (!keys.is_cpu()) return stream_uniform_ops(keys, count, dtype);
  return dtype == torch::kFloat32 ? cpu_stream_uniform<float>(keys, count, dtype)
                                  : cpu_stream_uniform<double>(keys, count, torch::kFloat64);
}

at::Tensor stream_uniform_ops(const at::Tensor& keys, std::int64_t count, at::ScalarType dtype) {
  // (1, count): (j + 1)·γ, wrapping; γ is splitmix64's increment.
  const at::Tensor offsets =
      torch::arange(1, count + 1, keys.options()).mul_(as_signed(0x9E3779B97F4A7C15ULL)).unsqueeze(0);
  at::Tensor z = keys.unsqueeze(1) + offsets;  // (R, count)
  mix(z);
  if (dtype == torch::kFloat32) return shift_right(z, 40).to(torch::kFloat32).mul_(0x1.0p-24f);
  return shift_right(z, 11).to(torch::kFloat64).mul_(0x1.0p-53);
}

at::Tensor CounterRng::uniform(std::uint64_t salt, std::int64_t count) const {
  return stream_uniform(keys_.bitwise_xor(as_signed(salt)), count, torch::kFloat64);  // (N, count)
}

at::Tensor CounterRng::uniform(const at::Tensor& salt, std::int64_t count) const {
  return stream_uniform(keys_.bitwise_xor(salt), count, torch::kFloat64);  // (N, count)
}

at::Tensor CounterRng::site_table(std::int64_t phase, std::int64_t steps, std::int64_t draw) const {
  std::vector<std::int64_t> salts;
  for (std::int64_t k = 0; k < steps; ++k) salts.push_back(as_signed(draw_site(phase, k, draw)));
  return torch::tensor(salts, torch::kLong).to(keys_.device());  // (S)
}

}  // namespace unmask
