// Tokenizer directory loading and the registry of tokenizer types.
#include "unmask/tokenizer/tokenizer.h"

#include <algorithm>
#include <functional>
#include <limits>

#include "unmask/registry.h"
#include "unmask/tokenizer/bpe_tokenizer.h"
#include "unmask/tokenizer/sentencepiece_tokenizer.h"
#include "unmask/tokenizer/wordpiece_tokenizer.h"
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
    // DIR/tokenizer.model holds the HF tokenizer.json it was imported from.
    reg.add("wordpiece", [](const fs::path& dir, const std::string& fp) {
      const fs::path model = dir / kTokenizerModel;
      return std::make_unique<WordPieceTokenizer>(read_file(model), model.string(), dir, fp);
    });
    reg.add("bpe", [](const fs::path& dir, const std::string& fp) {
      const fs::path model = dir / kTokenizerModel;
      return std::make_unique<BpeTokenizer>(read_file(model), model.string(), dir, fp);
    });
    return reg;
  }();
  return r;
}

std::string read_if_exists(const fs::path& path) { return fs::exists(path) ? read_file(path) : std::string(); }

// An HF tokenizer without a mask token (GPT-2) gets "[MASK]", a special added
// token with the next id (50257 for GPT-2, as MDLM's OpenWebText models):
// it is written into the tokenizer.json that unmask runs, stores and
// fingerprints. Others come back as they are.
std::string with_mask_token(const std::string& text, const nlohmann::ordered_json& j) {
  const auto& vocab = j["model"].value("vocab", nlohmann::ordered_json::object());
  const auto added = j.value("added_tokens", nlohmann::ordered_json::array());
  if (!vocab.is_object() || !added.is_array()) return text;  // the tokenizer's own parser says what is wrong
  std::int64_t next = static_cast<std::int64_t>(vocab.size());
  for (const auto& [token, id] : vocab.items())
    if (const auto n = exact_integer<int>(id)) next = std::max<std::int64_t>(next, *n + 1);
  for (const auto& a : added) {
    if (!a.is_object()) return text;
    if (a.value("content", "") == "[MASK]" || a.value("content", "") == "<mask>") return text;
    if (const auto id = exact_integer<int>(a.value("id", nlohmann::ordered_json()))) next = std::max<std::int64_t>(next, *id + 1);
  }
  if (vocab.contains("[MASK]") || vocab.contains("<mask>")) return text;
  nlohmann::ordered_json out = j;
  out["added_tokens"].push_back({{"id", next}, {"content", "[MASK]"}, {"single_word", false}, {"lstrip", false},
                                 {"rstrip", false}, {"normalized", false}, {"special", true}});
  return out.dump() + "\n";
}

// An HF model directory: tokenizer.json (HF's format), vocab.txt with an
// optional tokenizer_config.json (BERT), or vocab.json + merges.txt with
// optional tokenizer_config.json and special_tokens_map.json (GPT-2,
// RoBERTa). The fingerprint is that of the tokenizer.json the tokenizer runs
// (built from the other files, and with an appended [MASK] when it had none).
std::unique_ptr<Tokenizer> load_hf_tokenizer(const fs::path& dir, const std::string& hf_json) {
  std::string json = hf_json, where = (dir / kTokenizerMeta).string();
  if (json.empty() && fs::exists(dir / "vocab.txt")) {
    where = (dir / "vocab.txt").string();
    json = wordpiece_json_from_vocab(read_file(dir / "vocab.txt"), read_if_exists(dir / "tokenizer_config.json"), where);
  } else if (json.empty()) {
    where = (dir / "vocab.json").string();
    json = bpe_json_from_vocab(read_file(dir / "vocab.json"), read_file(dir / "merges.txt"),
                               read_if_exists(dir / "tokenizer_config.json"),
                               read_if_exists(dir / "special_tokens_map.json"), dir.string());
  }
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(json);
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": invalid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw Error(where + ": not an HF tokenizer.json (no 'model')");
  const auto& model = j["model"];
  const std::string type = model.is_object() && model.contains("type") && model["type"].is_string() ? model["type"].get<std::string>() : "";
  if (type != "WordPiece" && type != "BPE")
    throw Error(where + ": tokenizer model '" + type + "' is not supported (supported: WordPiece, BPE)");
  try {
    json = with_mask_token(json, j);
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": malformed tokenizer.json (" + e.what() + ")");
  }
  const std::string fingerprint = to_hex(sha256_bytes(json));
  if (type == "BPE") return std::make_unique<BpeTokenizer>(json, where, dir, fingerprint);
  return std::make_unique<WordPieceTokenizer>(json, where, dir, fingerprint);
}

}  // namespace

std::string Tokenizer::model_bytes() const { return read_file(dir_ / kTokenizerModel); }

void save_tokenizer(const Tokenizer& tok, const fs::path& dest) {
  fs::create_directory(dest);
  const nlohmann::json meta = {{"type", tok.type()},
                               {"vocab_size", tok.vocab_size()},
                               {"special", special_tokens_to_json(tok.special())},
                               {"fingerprint", tok.fingerprint()},
                               {"source", fs::absolute(tok.dir()).lexically_normal().string()}};
  write_file_atomic(dest / kTokenizerModel, tok.model_bytes());
  // An unmask tokenizer directory keeps its own metadata (training settings).
  const fs::path own = tok.dir() / kTokenizerMeta;
  std::string text = meta.dump(2) + "\n";
  if (fs::exists(tok.dir() / kTokenizerModel) && fs::exists(own)) {
    const auto parsed = nlohmann::json::parse(read_file(own), nullptr, false);
    if (parsed.is_object() && parsed.contains("fingerprint")) text = read_file(own);
  }
  write_file_atomic(dest / kTokenizerMeta, text);
}

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
  if (!fs::exists(meta_path, ec)) {
    if (fs::exists(dir / "vocab.txt", ec) || (fs::exists(dir / "vocab.json", ec) && fs::exists(dir / "merges.txt", ec)))
      return load_hf_tokenizer(dir, "");
    throw Error(dir.string() + " is not a tokenizer directory: " + kTokenizerMeta + " is missing (an unmask tokenizer "
                "directory, or an HF one with tokenizer.json, vocab.txt, or vocab.json and merges.txt)");
  }
  const std::string meta_text = read_file(meta_path);
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(meta_text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(meta_path.string() + ": invalid JSON (" + e.what() + ")");
  }
  if (meta.is_object() && meta.contains("model") && !meta.contains("fingerprint")) return load_hf_tokenizer(dir, meta_text);
  require_readable_file(model_path, "tokenizer model");
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
