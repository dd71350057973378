// Strict reading of integers from outside JSON. nlohmann's get<T>() converts
// whatever number it finds: 3.7 becomes 3, 2^40 wraps in an int, and a float
// beyond the target's range is undefined behaviour (found by fuzzing
// trainer.json). Readers of files a user may edit or damage use this instead.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace unmask {

// The value of `v` as T when it is a JSON integer that T represents exactly;
// nullopt for floats, booleans, strings, out-of-range integers.
template <class T> std::optional<T> exact_integer(const nlohmann::json& v) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  if (v.is_number_unsigned()) {
    const std::uint64_t u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return std::nullopt;
    return static_cast<T>(u);
  }
  if (v.is_number_integer()) {  // a negative integer (non-negative ones are stored unsigned when parsed)
    const std::int64_t i = v.get<std::int64_t>();
    if constexpr (std::is_unsigned_v<T>) {
      if (i < 0) return std::nullopt;
      if (static_cast<std::uint64_t>(i) > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return std::nullopt;
    } else {
      if (i < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
          i > static_cast<std::int64_t>(std::numeric_limits<T>::max()))
        return std::nullopt;
    }
    return static_cast<T>(i);
  }
  return std::nullopt;
}

}  // namespace unmask
