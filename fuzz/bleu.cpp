// BLEU inputs: lines of arbitrary bytes as hypotheses and references,
// through the 13a tokenizer, sacrebleu corpus BLEU and sentence BLEU.
#include <sstream>
#include <vector>

#include "harness.h"
#include "unmask/eval/bleu.h"
#include "unmask/eval/bleu_tokenize.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  std::vector<std::string> hyps, refs;
  for (std::string line; std::getline(in, line);) (hyps.size() <= refs.size() ? hyps : refs).push_back(line);
  refs.resize(hyps.size());
  return unmask::fuzz::expect_clear_errors([&] {
    for (const auto& h : hyps) unmask::tokenize_13a(h);
    unmask::BleuOptions options;
    options.threads = 1;
    unmask::corpus_bleu(hyps, {refs}, options);
    if (!hyps.empty()) unmask::sentence_bleu(hyps.front(), refs);
  });
}
