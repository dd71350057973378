// Tokenizer directories: the input is tokenizer.json, a line "--MODEL--", then
// the bytes of tokenizer.model. "@FP@" in the JSON is replaced by the model's
// real SHA-256, so that inputs get past the fingerprint check into the
// SentencePiece model and the special-token checks; loaded, then used.
#include <string>

#include "harness.h"
#include "unmask/tokenizer/tokenizer.h"
#include "unmask/util/hash.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::string sep = "\n--MODEL--\n";
  const std::size_t cut = input.find(sep);
  std::string meta = input.substr(0, cut);
  const std::string model = cut == std::string::npos ? std::string() : input.substr(cut + sep.size());
  const std::string fp = unmask::to_hex(unmask::sha256_bytes(model));
  for (std::size_t p; (p = meta.find("@FP@")) != std::string::npos;) meta.replace(p, 4, fp);
  const auto dir = unmask::fuzz::scratch_dir() / "tok";
  std::filesystem::create_directories(dir);
  unmask::fuzz::write_scratch("tok/tokenizer.json", reinterpret_cast<const std::uint8_t*>(meta.data()), meta.size());
  unmask::fuzz::write_scratch("tok/tokenizer.model", reinterpret_cast<const std::uint8_t*>(model.data()), model.size());
  return unmask::fuzz::expect_clear_errors([&] {
    const auto tok = unmask::load_tokenizer(dir);
    const auto ids = tok->encode("The cat sat on the mat. Ünïcödé 猫 🐈");
    tok->decode(ids);
    tok->decode({tok->special().mask, tok->special().eos});
  });
}
