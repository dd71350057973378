// WordPiece against HF `tokenizers` itself: the ids and decoded text of every
// line of the fortunes corpus and of the Unicode edge cases
// (tests/fixtures/wordpiece/edge_cases.jsonl: accents, Greek sigma, İ, CJK,
// emoji, zero-width and control characters, combining marks, odd whitespace,
// private use, Hangul), for cased and uncased vocabularies read from an HF
// tokenizer.json and from a vocab.txt; a saved unmask tokenizer directory
// keeps the fingerprint; unsupported or damaged files are one clear error.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace fs = std::filesystem;
#include "unmask/tokenizer/tokenizer.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

struct Expected {
  std::string text, decoded;
  std::vector<int> ids;
};

std::vector<Expected> expected(const std::string& name) {
  std::ifstream in(test::wordpiece_fixtures() / name / "expected.jsonl");
  std::vector<Expected> out;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    out.push_back({j["text"], j["decoded"], j["ids"].get<std::vector<int>>()});
  }
  return out;
}

TEST(WordPiece, IdsAndTextAreThoseOfHfTokenizersOnTheCorpusAndEdgeCases) {
  for (const std::string name : {"uncased", "cased"}) {
    const auto cases = expected(name);
    ASSERT_GT(cases.size(), 50000u) << name;
    for (const std::string dir : {name, name + "-vocab"}) {
      const auto tok = load_tokenizer(test::wordpiece_fixtures() / dir);
      EXPECT_EQ(tok->type(), "wordpiece");
      EXPECT_EQ(tok->vocab_size(), 4000) << dir;
      const SpecialTokens& s = tok->special();  // trained with [PAD] [UNK] [CLS] [SEP] [MASK] first
      EXPECT_EQ(std::vector<int>({s.pad, s.unk, s.bos, s.eos, s.mask}), std::vector<int>({0, 1, 2, 3, 4})) << dir;
      std::size_t wrong_ids = 0, wrong_text = 0;
      for (const auto& c : cases) {
        const std::vector<int> ids = tok->encode(c.text);
        if (ids != c.ids && ++wrong_ids <= 3) ADD_FAILURE() << dir << ": ids differ for " << nlohmann::json(c.text).dump();
        if (tok->decode(c.ids) != c.decoded && ++wrong_text <= 3)
          ADD_FAILURE() << dir << ": decode differs for " << nlohmann::json(c.text).dump() << ": '"
                        << tok->decode(c.ids) << "' vs '" << c.decoded << "'";
      }
      EXPECT_EQ(wrong_ids, 0u) << dir << " of " << cases.size();
      EXPECT_EQ(wrong_text, 0u) << dir << " of " << cases.size();
    }
  }
}

TEST(WordPiece, ASavedTokenizerDirectoryKeepsTheFingerprintAndIds) {
  const test::TempDir tmp;
  for (const std::string dir : {"uncased", "cased-vocab"}) {
    const auto tok = load_tokenizer(test::wordpiece_fixtures() / dir);
    save_tokenizer(*tok, tmp / dir);
    const auto again = load_tokenizer(tmp / dir);
    EXPECT_EQ(again->type(), "wordpiece");
    EXPECT_EQ(again->fingerprint(), tok->fingerprint()) << dir;
    const std::string text = "Café naïve [MASK] 中文 don't";
    EXPECT_EQ(again->encode(text), tok->encode(text)) << dir;
    EXPECT_EQ(again->special().mask, tok->special().mask);
  }
}

TEST(WordPiece, UnsupportedOrDamagedFilesAreClearErrors) {
  const test::TempDir tmp;
  const std::string good = test::read_text(test::wordpiece_fixtures() / "uncased" / "tokenizer.json");
  auto error_for = [&](const std::string& name, const std::function<void(nlohmann::json&)>& edit) {
    auto j = nlohmann::json::parse(good);
    edit(j);
    fs::create_directories(tmp / name);
    test::write_text(tmp / name / "tokenizer.json", j.dump());
    return test::error_of([&] { load_tokenizer(tmp / name); });
  };
  const std::string where = (tmp / "unigram" / "tokenizer.json").string();
  EXPECT_EQ(error_for("unigram", [](auto& j) { j["model"]["type"] = "Unigram"; }),
            where + ": tokenizer model 'Unigram' is not supported (supported: WordPiece, BPE)");
  EXPECT_NE(error_for("norm", [](auto& j) { j["normalizer"] = {{"type", "Sequence"}}; }).find("normalizer 'Sequence' is not supported"),
            std::string::npos);
  EXPECT_NE(error_for("unk", [](auto& j) { j["model"]["unk_token"] = "<unk>"; }).find("the unk_token '<unk>' is not in the vocabulary"),
            std::string::npos);
  EXPECT_NE(error_for("id", [](auto& j) { j["model"]["vocab"]["the"] = 2.5; }).find("vocab entry 'the' must be an integer id"),
            std::string::npos);
  EXPECT_NE(error_for("normalized", [](auto& j) { j["added_tokens"][0]["normalized"] = true; }).find("matched after normalisation"),
            std::string::npos);
  EXPECT_NE(error_for("post", [](auto& j) { j["post_processor"] = {{"type", "BertProcessing"}, {"cls", 7}}; })
                .find("post_processor 'BertProcessing' is malformed"),
            std::string::npos);
  fs::create_directories(tmp / "broken");
  test::write_text(tmp / "broken" / "tokenizer.json", "{\"model\": ");
  EXPECT_NE(test::error_of([&] { load_tokenizer(tmp / "broken"); }).find("invalid JSON"), std::string::npos);
  fs::create_directories(tmp / "empty");
  EXPECT_NE(test::error_of([&] { load_tokenizer(tmp / "empty"); }).find("an HF one with tokenizer.json, vocab.txt, or vocab.json"),
            std::string::npos);
}

TEST(WordPiece, AVocabularyWithoutAMaskTokenGetsOneAppended) {
  const test::TempDir tmp;
  auto j = nlohmann::json::parse(test::read_text(test::wordpiece_fixtures() / "uncased" / "tokenizer.json"));
  auto& vocab = j["model"]["vocab"];
  vocab["[unused0]"] = vocab["[MASK]"];
  vocab.erase("[MASK]");
  auto& added = j["added_tokens"];
  for (std::size_t i = 0; i < added.size(); ++i)
    if (added[i]["content"] == "[MASK]") added.erase(i);
  fs::create_directories(tmp / "hf");
  test::write_text(tmp / "hf" / "tokenizer.json", j.dump());
  const auto tok = load_tokenizer(tmp / "hf");
  EXPECT_EQ(tok->vocab_size(), 4001);
  EXPECT_EQ(tok->special().mask, 4000);
  EXPECT_EQ(tok->piece(4000), "[MASK]");
  EXPECT_EQ(tok->encode("a [MASK] b"), std::vector<int>({tok->encode("a")[0], 4000, tok->encode("b")[0]}));
  save_tokenizer(*tok, tmp / "saved");
  EXPECT_EQ(load_tokenizer(tmp / "saved")->special().mask, 4000);
}

}  // namespace
}  // namespace unmask
