// safetensors headers: arbitrary bytes as a whole weights file, validated as
// every reader of model.safetensors, ema.safetensors and HF weights does.
#include "harness.h"
#include "unmask/util/safetensors_header.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return unmask::fuzz::expect_clear_errors([&] {
    const auto header = unmask::parse_safetensors_header(reinterpret_cast<const char*>(data), size, size, "fuzz");
    for (const auto& e : header.entries)  // what the reader then relies on
      if (e.end > header.data_size || header.data_start + header.data_size != size) __builtin_trap();
  });
}
