// Checkpoint manifests: an arbitrary manifest.json next to two real files,
// checked as `train --resume`, `sample` and `eval` check a checkpoint.
#include <filesystem>

#include "harness.h"
#include "unmask/run/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto dir = unmask::fuzz::scratch_dir() / "ckpt";
  static const bool made = [&] {
    std::filesystem::create_directories(dir / "tokenizer");
    std::ofstream(dir / "model.safetensors") << "weights";
    std::ofstream(dir / "tokenizer" / "tokenizer.json") << "{}";
    return true;
  }();
  (void)made;
  std::ofstream(dir / "manifest.json", std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return unmask::fuzz::expect_clear_errors([&] { unmask::verify_checkpoint(dir); });
}
