// Shared helpers of the fuzz harnesses: a per-process scratch file for
// parsers that read from disk, and the rule every harness follows: an
// unmask::Error is the expected answer to bad input; anything else
// (another exception, a crash, a sanitizer report, a hang) is a finding.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "unmask/util/error.h"

namespace unmask::fuzz {

inline std::filesystem::path scratch_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("unmask-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

inline std::filesystem::path write_scratch(const std::string& name, const std::uint8_t* data, std::size_t size) {
  const auto path = scratch_dir() / name;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                               static_cast<std::streamsize>(size));
  return path;
}

// Runs `f`; an unmask::Error is a clear refusal and ends the input normally.
template <class F> int expect_clear_errors(F&& f) {
  try {
    f();
  } catch (const unmask::Error&) {
  }
  return 0;
}

}  // namespace unmask::fuzz
