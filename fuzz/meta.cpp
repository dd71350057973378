// meta.json of a prepared data directory: arbitrary bytes next to one real
// shard (train-00000.bin, 3 documents), opened as training and eval open a split.
#include <filesystem>

#include "harness.h"
#include "unmask/data/dataset.h"
#include "unmask/data/shard.h"
#include "unmask/util/hash.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto dir = unmask::fuzz::scratch_dir() / "data";
  static const bool made = [&] {
    std::filesystem::create_directories(dir);
    // The fingerprint the seed corpus's meta.json records: 64 × 'a'.
    unmask::ShardWriter w(dir / "train-00000.bin", 2, 32, unmask::digest_from_hex(std::string(64, 'a')));
    w.add_doc({5, 6, 7});
    w.add_doc({8});
    w.add_doc({9, 10, 11, 12});
    w.close();
    return true;
  }();
  (void)made;
  unmask::fuzz::write_scratch("data/meta.json", data, size);
  for (const char* split : {"train", "val"}) {
    unmask::fuzz::expect_clear_errors([&] {
      unmask::ShardedSplit s(dir, split, "");
      std::int64_t out[8];
      for (std::uint64_t d = 0; d < s.num_docs(); ++d) s.copy_doc(d, 8, out);
    });
  }
  return 0;
}
