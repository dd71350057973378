// Tokenizer directory loading and the registry of tokenizer types.
#include "unmask/tokenizer/tokenizer.h"

#include <functional>
#include <limits>

#include "unmask/registry.h"
#include "unmask/tokenizer/sentencepiece_tokenizer.h"
#include "unmask/util/error.h"
#include "unmask/util/fs.h"
#include "unmask/util/hash.h"
#include "unmask/util/json_number.h"

namespace unmask {
namespace {

using TokenizerFactory = std::function<std::unique_ptr<Tokenizer>(const fs::path&, const std::string&)>;

const Registry<TokenizerFactory>& registry() {
  static const Registry<TokenizerFactory> r = [] {
    Registry<TokenizerFactory> reg("tokenizer type");
    reg.add("sentencepiece", [](const fs::path& dir, const std::string& fp) {
      return std::make_unique<SentencePieceTokenizer>(dir, fp);
    });
    return reg;
  }();
  return r;
}

}  // namespace

std::vector<std::string> tokenizer_types() { return registry().names(); }

nlohmann::json special_tokens_to_json(const SpecialTokens& s) {
  return {{"pad", s.pad}, {"unk", s.unk}, {"bos", s.bos}, {"eos", s.eos}, {"mask", s.mask}};
}

SpecialTokens special_tokens_from_json(const nlohmann::json& j) {
  // Integers that fit an int: get<int>() alone would truncate 2^40 or 3.7 silently.
  auto id = [&](const char* key) {
    const auto& v = j.at(key);
    const auto n = exact_integer<int>(v);
    if (!n)
      throw nlohmann::json::type_error::create(302, std::string("special token id '") + key + "' is not an integer id",
                                               &v);
    return *n;
  };
  SpecialTokens s;
  s.pad = id("pad");
  s.unk = id("unk");
  s.bos = id("bos");
  s.eos = id("eos");
  s.mask = id("mask");
  return s;
}

void check_special_tokens(const SpecialTokens& s, std::int64_t vocab_size, const std::string& where) {
  if (vocab_size < 1 || vocab_size > std::numeric_limits<int>::max())
    throw Error(where + ": vocab_size " + std::to_string(vocab_size) + " is not between 1 and 2^31 - 1");
  for (const auto& [name, id] : {std::pair{"pad", s.pad}, {"unk", s.unk}, {"bos", s.bos}, {"eos", s.eos}, {"mask", s.mask}})
    if (id < 0 || id >= vocab_size)
      throw Error(where + ": special token " + name + " = " + std::to_string(id) + " is outside the vocabulary [0, " +
                  std::to_string(vocab_size) + ")");
}

std::unique_ptr<Tokenizer> load_tokenizer(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error("tokenizer directory not found: " + dir.string() + " (create one with 'unmask tokenizer train')");
  const fs::path meta_path = dir / kTokenizerMeta;
  const fs::path model_path = dir / kTokenizerModel;
  if (!fs::exists(meta_path, ec))
    throw Error(dir.string() + " is not a tokenizer directory: " + kTokenizerMeta + " is missing");
  require_readable_file(model_path, "tokenizer model");
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(read_file(meta_path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(meta_path.string() + ": invalid JSON (" + e.what() + ")");
  }
  std::string type, recorded;
  try {
    type = meta.at("type").get<std::string>();
    recorded = meta.at("fingerprint").get<std::string>();
  } catch (const nlohmann::json::exception&) {
    throw Error(meta_path.string() + ": needs string fields 'type' and 'fingerprint'");
  }
  const std::string actual = to_hex(sha256_file(model_path));
  if (actual != recorded)
    throw Error(model_path.string() + " does not match the fingerprint recorded in " + kTokenizerMeta +
                " (the file was changed or is corrupt; retrain or restore it)");
  auto tok = registry().get(type)(dir, actual);
  if (meta.contains("special")) {
    SpecialTokens want;
    try {
      want = special_tokens_from_json(meta.at("special"));
    } catch (const nlohmann::json::exception&) {
      throw Error(meta_path.string() + ": 'special' must hold integer ids pad, unk, bos, eos, mask");
    }
    const SpecialTokens& got = tok->special();
    if (want.pad != got.pad || want.unk != got.unk || want.bos != got.bos || want.eos != got.eos ||
        want.mask != got.mask)
      throw Error(meta_path.string() + ": special token ids differ from those in the model file");
  }
  return tok;
}

}  // namespace unmask
