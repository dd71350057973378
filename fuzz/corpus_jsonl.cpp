// Corpus input as `data prepare --format jsonl` reads it (UTF-8 repair on),
// and the same bytes as `--format docs`.
#include "harness.h"
#include "unmask/util/corpus_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = unmask::fuzz::write_scratch("corpus.txt", data, size);
  for (const auto format : {unmask::CorpusFormat::Jsonl, unmask::CorpusFormat::Docs}) {
    unmask::fuzz::expect_clear_errors([&] {
      unmask::CorpusOptions options;
      options.format = format;
      unmask::CorpusReader reader({path}, options);
      for (std::string text; reader.next(text);) {
      }
    });
  }
  return 0;
}
