// Byte-level BPE against HF `tokenizers` itself: the ids and decoded text of
// every line of the fortunes corpus and of the Unicode edge cases
// (tests/fixtures/{wordpiece,bpe}/edge_cases.jsonl: contractions, runs of
// spaces, tabs, \r\n, emoji with ZWJ, combining marks, CJK, digits in words,
// non-BMP characters, added tokens in the text), for GPT-2 and RoBERTa style
// tokenizers read from a tokenizer.json and from vocab.json + merges.txt;
// GPT-2's appended [MASK]; encoding from several threads; unsupported or
// damaged files are one clear error.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <algorithm>
#include <thread>

#include "test_util.h"
#include "unmask/tokenizer/tokenizer.h"
#include "unmask/util/error.h"
#include "unmask/util/hash.h"

namespace fs = std::filesystem;

namespace unmask {
namespace {

struct Expected {
  std::string text, decoded, decoded_tail;
  std::vector<int> ids;
};

std::vector<Expected> expected(const std::string& name) {
  std::ifstream in(test::bpe_fixtures() / name / "expected.jsonl");
  std::vector<Expected> out;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    out.push_back({j["text"], j["decoded"], j["decoded_tail"], j["ids"].get<std::vector<int>>()});
  }
  return out;
}

// Mismatches of `tok` against the reference, the first few reported.
std::size_t mismatches(const Tokenizer& tok, const std::vector<Expected>& cases, const std::string& dir) {
  std::size_t wrong = 0;
  for (const auto& c : cases) {
    const std::vector<int> tail(c.ids.empty() ? c.ids.begin() : c.ids.begin() + 1, c.ids.end());
    const bool ids_ok = tok.encode(c.text) == c.ids, text_ok = tok.decode(c.ids) == c.decoded,
               tail_ok = tok.decode(tail) == c.decoded_tail;
    if (!(ids_ok && text_ok && tail_ok) && ++wrong <= 3)
      ADD_FAILURE() << dir << ": " << (ids_ok ? "" : "ids ") << (text_ok ? "" : "decode ")
                    << (tail_ok ? "" : "decode of ids[1:] ") << "differ for " << nlohmann::json(c.text).dump()
                    << ": decoded '" << tok.decode(c.ids) << "' vs '" << c.decoded << "'";
  }
  return wrong;
}

TEST(BPE, IdsAndTextAreThoseOfHfTokenizersOnTheCorpusAndEdgeCases) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> runs = {
      {"gpt2", {"gpt2", "gpt2-vocab", "gpt2-split"}}, {"roberta", {"roberta", "roberta-vocab"}},
      {"gpt2-prefix", {"gpt2-prefix"}}};
  for (const auto& [name, dirs] : runs) {
    const auto cases = expected(name);
    ASSERT_GT(cases.size(), 50000u) << name;
    for (const auto& dir : dirs) {
      const auto tok = load_tokenizer(test::bpe_fixtures() / dir);
      EXPECT_EQ(tok->type(), "bpe");
      const SpecialTokens& s = tok->special();
      if (name == "roberta") {  // trained with <s> <pad> </s> <unk> <mask> first
        EXPECT_EQ(tok->vocab_size(), 4000) << dir;
        EXPECT_EQ(std::vector<int>({s.bos, s.pad, s.eos, s.unk, s.mask}), std::vector<int>({0, 1, 2, 3, 4})) << dir;
      } else {  // <|endoftext|> 0 is BOS, EOS, unk and pad; [MASK] appended
        EXPECT_EQ(tok->vocab_size(), 4001) << dir;
        EXPECT_EQ(std::vector<int>({s.bos, s.pad, s.eos, s.unk, s.mask}), std::vector<int>({0, 0, 0, 0, 4000})) << dir;
      }
      EXPECT_EQ(mismatches(*tok, cases, dir), 0u) << dir << " of " << cases.size();
    }
  }
}

TEST(BPE, MergesAsStringsOrPairsGiveTheSameIds) {
  const test::TempDir tmp;
  auto j = nlohmann::json::parse(test::read_text(test::bpe_fixtures() / "roberta" / "tokenizer.json"));
  ASSERT_TRUE(j["model"]["merges"][0].is_array());  // tokenizers 0.23 writes pairs
  for (auto& m : j["model"]["merges"]) m = m[0].get<std::string>() + " " + m[1].get<std::string>();
  fs::create_directories(tmp / "strings");
  test::write_text(tmp / "strings" / "tokenizer.json", j.dump());
  const auto tok = load_tokenizer(tmp / "strings");
  auto cases = expected("roberta");
  cases.erase(cases.begin(), cases.end() - 2000);  // the end of the corpus and all edge cases
  EXPECT_EQ(mismatches(*tok, cases, "strings"), 0u);
}

TEST(BPE, VocabAndMergesAloneReadAsTransformersFourAndTheHubFilesDo) {
  // Without tokenizer_config.json: RoBERTa's <mask> strips the whitespace before
  // it (RobertaTokenizerFast up to transformers 4, roberta-base's tokenizer.json).
  const test::TempDir tmp;
  for (const std::string name : {"roberta", "gpt2"}) {
    fs::create_directories(tmp / name);
    for (const char* f : {"vocab.json", "merges.txt"})
      fs::copy_file(test::bpe_fixtures() / (name + "-vocab") / f, tmp / name / f);
    const auto tok = load_tokenizer(tmp / name);
    auto cases = expected(name);
    cases.erase(cases.begin(), cases.end() - 60);  // the edge cases, <mask> among them
    EXPECT_EQ(mismatches(*tok, cases, name + " without tokenizer_config.json"), 0u);
  }
}

TEST(BPE, Gpt2GetsAnAppendedMaskThatIsStoredAndFingerprinted) {
  const fs::path dir = test::bpe_fixtures() / "gpt2";
  const auto tok = load_tokenizer(dir);
  const int mask = tok->special().mask;
  EXPECT_EQ(mask, 4000);
  EXPECT_EQ(tok->vocab_size(), mask + 1);
  EXPECT_EQ(tok->piece(mask), "[MASK]");
  EXPECT_EQ(tok->special().pad, tok->special().eos) << "GPT-2 pads with <|endoftext|>";
  EXPECT_NO_THROW(check_special_tokens(tok->special(), tok->vocab_size(), "gpt2"));
  // The tokenizer.json it runs holds the [MASK]; the fingerprint is that file's.
  const std::string file = test::read_text(dir / "tokenizer.json");
  EXPECT_EQ(file.find("[MASK]"), std::string::npos);
  EXPECT_NE(tok->model_bytes().find("\"[MASK]\""), std::string::npos);
  EXPECT_EQ(tok->fingerprint(), to_hex(sha256_bytes(tok->model_bytes())));
  EXPECT_NE(tok->fingerprint(), to_hex(sha256_bytes(file)));
  // Like any added token, it is found in raw text, and decodes to nothing.
  const std::vector<int> ids = tok->encode("a [MASK] b");
  EXPECT_EQ(std::count(ids.begin(), ids.end(), mask), 1);
  EXPECT_EQ(tok->decode({mask}), "");
  EXPECT_EQ(tok->decode(ids), tok->decode(tok->encode("a  b")));
  // Stored in a saved directory, which reloads with the same ids and fingerprint.
  const test::TempDir tmp;
  save_tokenizer(*tok, tmp / "saved");
  EXPECT_NE(test::read_text(tmp / "saved" / "tokenizer.model").find("\"[MASK]\""), std::string::npos);
  const auto again = load_tokenizer(tmp / "saved");
  EXPECT_EQ(again->type(), "bpe");
  EXPECT_EQ(again->fingerprint(), tok->fingerprint());
  EXPECT_EQ(again->vocab_size(), 4001);
  EXPECT_EQ(again->special().mask, mask);
  EXPECT_EQ(again->encode("it's a [MASK] <|endoftext|> test"), tok->encode("it's a [MASK] <|endoftext|> test"));
  // RoBERTa has <mask>: nothing appended, the fingerprint is the file's own.
  const auto roberta = load_tokenizer(test::bpe_fixtures() / "roberta");
  EXPECT_EQ(roberta->fingerprint(), to_hex(sha256_bytes(test::read_text(test::bpe_fixtures() / "roberta" / "tokenizer.json"))));
}

TEST(BPE, EncodingFromSeveralThreadsGivesTheSameIds) {
  const auto tok = load_tokenizer(test::bpe_fixtures() / "roberta");  // a fresh word cache
  const auto cases = expected("roberta");
  std::vector<std::size_t> wrong(4, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < wrong.size(); ++t)
    threads.emplace_back([&, t] {
      for (std::size_t i = 0; i < cases.size(); ++i) {
        const auto& c = cases[(i * 7 + t * 13001) % cases.size()];  // each thread in its own order
        if (tok->encode(c.text) != c.ids) ++wrong[t];
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong, std::vector<std::size_t>(4, 0));
}

TEST(BPE, UnsupportedOrDamagedFilesAreClearErrors) {
  const test::TempDir tmp;
  const std::string good = test::read_text(test::bpe_fixtures() / "gpt2" / "tokenizer.json");
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
  EXPECT_NE(error_for("merge", [](auto& j) { j["model"]["merges"][5] = {"Ġt", "zzz"}; })
                .find("merge 6 ('Ġt' 'zzz') names 'zzz', which is not in the vocabulary"),
            std::string::npos);
  EXPECT_NE(error_for("merge-str", [](auto& j) { j["model"]["merges"][0] = "Ġ t x"; })
                .find("merge 1 'Ġ t x' is not two tokens separated by one space"),
            std::string::npos);
  EXPECT_NE(error_for("ids", [](auto& j) { j["model"]["vocab"]["Ġt"] = 5000; })
                .find("the BPE vocabulary's ids are not contiguous"),
            std::string::npos);
  EXPECT_NE(error_for("dropout", [](auto& j) { j["model"]["dropout"] = 0.1; }).find("BPE dropout is not supported"),
            std::string::npos);
  EXPECT_NE(error_for("prefix", [](auto& j) { j["model"]["continuing_subword_prefix"] = "##"; })
                .find("BPE continuing_subword_prefix is not supported"),
            std::string::npos);
  EXPECT_NE(error_for("suffix", [](auto& j) { j["model"]["end_of_word_suffix"] = "</w>"; })
                .find("BPE end_of_word_suffix is not supported"),
            std::string::npos);
  EXPECT_NE(error_for("fallback", [](auto& j) { j["model"]["byte_fallback"] = true; }).find("BPE byte_fallback is not supported"),
            std::string::npos);
  EXPECT_NE(error_for("norm", [](auto& j) { j["normalizer"] = {{"type", "NFC"}}; })
                .find("normalizer 'NFC' is not supported with BPE"),
            std::string::npos);
  EXPECT_NE(error_for("pre", [](auto& j) { j["pre_tokenizer"] = {{"type", "Whitespace"}}; })
                .find("pre-tokenizer 'Whitespace' is not supported with BPE"),
            std::string::npos);
  EXPECT_NE(error_for("no-byte-level", [](auto& j) { j["pre_tokenizer"] = nullptr; })
                .find("a byte-level BPE needs the ByteLevel pre-tokenizer, as the last step"),
            std::string::npos);
  EXPECT_NE(error_for("split", [](auto& j) {
              j["pre_tokenizer"] = {{"type", "Sequence"},
                                    {"pretokenizers", {{{"type", "Split"}, {"pattern", {{"Regex", "\\s"}}}, {"behavior", "Removed"}, {"invert", false}},
                                                       {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
            }).find("only Split pre-tokenizers with behavior 'Isolated' and invert false are supported"),
            std::string::npos);
  EXPECT_NE(error_for("regex", [](auto& j) {
              j["pre_tokenizer"] = {{"type", "Sequence"},
                                    {"pretokenizers", {{{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}, {"invert", false}},
                                                       {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
            }).find("the pre-tokenizer regex does not compile with PCRE2"),
            std::string::npos);
  EXPECT_NE(error_for("post", [](auto& j) { j["post_processor"] = {{"type", "RobertaProcessing"}, {"cls", 5}, {"sep", 6}}; })
                .find("malformed tokenizer.json"),
            std::string::npos);
  EXPECT_NE(error_for("decoder", [](auto& j) { j["decoder"] = {{"type", "Metaspace"}}; })
                .find("decoder 'Metaspace' is not supported with BPE"),
            std::string::npos);
  fs::create_directories(tmp / "broken");
  test::write_text(tmp / "broken" / "tokenizer.json", "{\"model\": {\"type\": \"BPE\", ");
  EXPECT_NE(test::error_of([&] { load_tokenizer(tmp / "broken"); }).find("invalid JSON"), std::string::npos);
  // vocab.json + merges.txt
  const fs::path src = test::bpe_fixtures() / "gpt2-vocab";
  auto files_error = [&](const std::string& name, const std::string& vocab, const std::string& merges) {
    fs::create_directories(tmp / name);
    test::write_text(tmp / name / "vocab.json", vocab);
    test::write_text(tmp / name / "merges.txt", merges);
    return test::error_of([&] { load_tokenizer(tmp / name); });
  };
  const std::string vocab = test::read_text(src / "vocab.json"), merges = test::read_text(src / "merges.txt");
  EXPECT_EQ(files_error("bad-merges", vocab, "#version: 0.2\nĠ t\nh e x\n"),
            (tmp / "bad-merges").string() + "/merges.txt: line 3 is not two tokens separated by one space");
  EXPECT_NE(files_error("bad-vocab", "{\"a\": 0,", merges).find("/vocab.json: invalid JSON"), std::string::npos);
  EXPECT_NE(files_error("bad-utf8", vocab, "#version: 0.2\n\xff t\n").find("/merges.txt: line 2 is not valid UTF-8"),
            std::string::npos);
  EXPECT_NE(files_error("no-specials", "{\"a\": 0, \"b\": 1}", "").find("neither RoBERTa's"), std::string::npos);
  EXPECT_NE(files_error("unknown-merge", vocab, "#version: 0.2\nĠ qqq\n").find("names 'qqq', which is not in the vocabulary"),
            std::string::npos);
}

}  // namespace
}  // namespace unmask
