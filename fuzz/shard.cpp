// Token shards (data prepare's .bin files): the header, the document index
// and the tokens of an arbitrary file, read as the loader reads them.
#include "harness.h"
#include "unmask/data/shard.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = unmask::fuzz::write_scratch("train-00000.bin", data, size);
  return unmask::fuzz::expect_clear_errors([&] {
    const unmask::ShardReader shard(path);
    shard.verify_tokens();
    std::uint64_t sum = 0;
    for (std::uint64_t d = 0; d < shard.num_docs(); ++d)
      for (std::uint64_t i = shard.doc_begin(d); i < shard.doc_end(d); ++i) sum += shard.token(i);
    (void)sum;
  });
}
