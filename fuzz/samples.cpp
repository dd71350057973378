// Sample files given to `eval bleu` / `eval gen-ppl`: the same bytes read as
// `unmask sample --out` JSONL (.jsonl) and as a plain file (sniffed).
#include "harness.h"
#include "unmask/eval/inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  for (const char* name : {"samples.jsonl", "samples.txt"}) {
    const auto path = unmask::fuzz::write_scratch(name, data, size);
    unmask::fuzz::expect_clear_errors([&] { unmask::read_hypotheses(path); });
  }
  return unmask::fuzz::expect_clear_errors(
      [&] { unmask::read_text_lines(unmask::fuzz::scratch_dir() / "samples.txt", "reference file"); });
}
