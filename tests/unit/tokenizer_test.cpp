// Tokenizer: training, lossless round trip on the fortunes corpus, agreement
// with SentencePiece's own spm_encode, special ids, fingerprints, bad input.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "test_util.h"
#include "unmask/tokenizer/tokenizer.h"
#include "unmask/tokenizer/train.h"
#include "unmask/util/corpus_reader.h"
#include "unmask/util/error.h"
#include "unmask/util/hash.h"

namespace unmask {
namespace {

using namespace unmask::test;

std::vector<std::string> fortune_records() {
  CorpusOptions o;
  o.format = CorpusFormat::Docs;
  o.separator = DocSeparator::Percent;
  CorpusReader reader(fortune_files(), o);
  std::vector<std::string> out;
  for (std::string t; reader.next(t);) out.push_back(t);
  return out;
}

TEST(Tokenizer, SpecialTokensHaveFixedIds) {
  const auto tok = load_tokenizer(fortune_tokenizer());
  EXPECT_EQ(tok->vocab_size(), 2000);
  EXPECT_EQ(tok->special().pad, 0);
  EXPECT_EQ(tok->special().unk, 1);
  EXPECT_EQ(tok->special().bos, 2);
  EXPECT_EQ(tok->special().eos, 3);
  EXPECT_EQ(tok->special().mask, 4);
  EXPECT_EQ(tok->piece(4), "[MASK]");
  // Control symbols are never produced from raw text.
  for (int id : tok->encode("the [MASK] sat on [BOS] the [PAD] mat [EOS]")) EXPECT_GT(id, 4);
}

TEST(Tokenizer, LosslessRoundTripOnEveryFortune) {
  const auto tok = load_tokenizer(fortune_tokenizer());
  const auto records = fortune_records();
  ASSERT_GT(records.size(), 5000u);
  std::size_t tokens = 0;
  for (const auto& text : records) {
    const auto ids = tok->encode(text);
    tokens += ids.size();
    ASSERT_EQ(tok->decode(ids), text);
  }
  // A trained vocabulary compresses: fewer tokens than bytes.
  std::size_t bytes = 0;
  for (const auto& t : records) bytes += t.size();
  EXPECT_LT(tokens, bytes / 2);
}

TEST(Tokenizer, UnseenCharactersFallBackToBytes) {
  const auto tok = load_tokenizer(fortune_tokenizer());
  const std::string text = "naïve café — 日本語 ✓ \t tabs\nand lines";
  const auto ids = tok->encode(text);
  EXPECT_EQ(tok->decode(ids), text);
  for (int id : ids) EXPECT_NE(id, tok->special().unk);
}

TEST(Tokenizer, AgreesWithSpmEncode) {
  const auto tok = load_tokenizer(fortune_tokenizer());
  TempDir dir;
  // spm_encode reads one sentence per line: use the single lines of the corpus.
  std::ostringstream input;
  std::vector<std::string> lines;
  for (const auto& record : fortune_records()) {
    std::istringstream r(record);
    for (std::string line; std::getline(r, line) && lines.size() < 3000;)
      if (!line.empty()) lines.push_back(line);
  }
  for (const auto& l : lines) input << l << "\n";
  write_text(dir / "in.txt", input.str());
  const auto r = run_command("spm_encode --model=" + (fortune_tokenizer() / "tokenizer.model").string() +
                             " --output_format=id < " + (dir / "in.txt").string());
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream out(r.out);
  std::size_t n = 0;
  for (std::string line; std::getline(out, line); ++n) {
    ASSERT_LT(n, lines.size());
    std::ostringstream ours;
    const auto ids = tok->encode(lines[n]);
    for (std::size_t i = 0; i < ids.size(); ++i) ours << (i ? " " : "") << ids[i];
    ASSERT_EQ(ours.str(), line) << "line " << n << ": " << lines[n];
  }
  EXPECT_EQ(n, lines.size());
}

TEST(Tokenizer, FingerprintIsSha256OfTheModelFile) {
  const auto tok = load_tokenizer(fortune_tokenizer());
  const auto r = run_command("sha256sum " + (fortune_tokenizer() / "tokenizer.model").string());
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(r.out.substr(0, 64), tok->fingerprint());
}

TEST(Tokenizer, BpeTrainsToTheRequestedVocab) {
  TempDir dir;
  TokenizerTrainOptions o;
  o.inputs = {fortune_files().front()};
  o.corpus.format = CorpusFormat::Docs;
  o.out = dir / "bpe";
  o.vocab_size = 600;
  o.model_type = "bpe";
  const auto s = train_tokenizer(o);
  const auto tok = load_tokenizer(o.out);
  EXPECT_EQ(tok->vocab_size(), 600);
  EXPECT_EQ(tok->fingerprint(), s.fingerprint);
  EXPECT_EQ(tok->decode(tok->encode("A fortune, told twice.")), "A fortune, told twice.");
}

TEST(Tokenizer, TamperedModelIsRefused) {
  TempDir dir;
  std::filesystem::copy(fortune_tokenizer(), dir / "tok");
  {
    std::ofstream f(dir / "tok" / "tokenizer.model", std::ios::app | std::ios::binary);
    f << "x";
  }
  try {
    load_tokenizer(dir / "tok");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not match the fingerprint"), std::string::npos) << e.what();
  }
}

// Found by fuzz_tokenizer_dir: a model file with a piece "\0" (its
// fingerprint recorded, so it passes that check) made SentencePiece's trie
// builder throw through a noexcept function: the process aborted (SIGABRT).
TEST(Tokenizer, AModelWithAnEmptyPieceOrBrokenProtobufIsRefused) {
  TempDir dir;
  std::filesystem::copy(fortune_tokenizer(), dir / "tok");
  const auto model_path = dir / "tok" / "tokenizer.model";
  const std::string model = read_text(model_path);
  // The first piece as trainer writes it: {piece: "[PAD]", score: 0, type: CONTROL}.
  const std::string pad_piece = std::string("\n\x0e\n\x05[PAD]\x15\0\0\0\0\x18\x03", 16);
  ASSERT_EQ(model.substr(0, pad_piece.size()), pad_piece);
  auto with_model = [&](const std::string& bytes) {
    write_text(model_path, bytes);
    auto meta = nlohmann::json::parse(read_text(dir / "tok" / "tokenizer.json"));
    meta["fingerprint"] = to_hex(sha256_bytes(bytes));  // as if the damage were recorded
    write_text(dir / "tok" / "tokenizer.json", meta.dump());
    return error_of([&] { load_tokenizer(dir / "tok"); });
  };
  const std::string empty_piece = std::string("\n\x09\n\x00\x15\0\0\0\0\x18\x03", 11);
  EXPECT_NE(with_model(empty_piece + model.substr(pad_piece.size())).find("tokenizer.model is not a valid SentencePiece model (piece 0 is empty"),
            std::string::npos);
  // The input fuzz_tokenizer_dir found: the last piece is "\0" (an empty C string).
  const std::string nul_piece = std::string("\n\x0a\n\x01\0\x15\0\0\0\0\x18\x01", 12);
  EXPECT_NE(with_model(model + nul_piece).find("is empty or contains a NUL byte"), std::string::npos);
  const std::string half = with_model(model.substr(0, model.size() / 2));
  EXPECT_NE(half.find("is not a valid SentencePiece model ("), std::string::npos) << half;
  EXPECT_NE(with_model("").find("is not a valid SentencePiece model (it has no pieces)"), std::string::npos);
  // The intact model still loads.
  EXPECT_TRUE(with_model(model).empty());
}

TEST(Tokenizer, BadInputsGetClearErrors) {
  TempDir dir;
  EXPECT_THROW(load_tokenizer(dir / "nowhere"), Error);
  std::filesystem::create_directory(dir / "empty");
  EXPECT_THROW(load_tokenizer(dir / "empty"), Error);

  TokenizerTrainOptions o;
  o.out = dir / "tok";
  o.inputs = {fortune_files().front()};
  o.vocab_size = 100;  // smaller than specials + 256 bytes
  EXPECT_THROW(train_tokenizer(o), Error);
  o.vocab_size = 1000;
  o.model_type = "wordpiece";
  EXPECT_THROW(train_tokenizer(o), Error);
  o.model_type = "unigram";
  write_text(dir / "empty.txt", "\n\n   \n");
  o.inputs = {dir / "empty.txt"};
  try {
    train_tokenizer(o);
    FAIL() << "expected an error for an empty corpus";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(o.out));
  // Nothing partial: no temporary directory left next to the output.
  for (const auto& name : list_tree(dir.path())) EXPECT_EQ(name.find("tmp"), std::string::npos) << name;
}

}  // namespace
}  // namespace unmask
