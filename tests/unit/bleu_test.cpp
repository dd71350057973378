// BLEU against sacrebleu's published test vectors (test/test_bleu.py,
// test/test_sentence_bleu.py) and against sacrebleu and NLTK on the fixture
// that tests/fixtures/make_bleu_fixtures.py scored (tests/fixtures/bleu/).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "test_util.h"
#include "unmask/eval/bleu.h"
#include "unmask/eval/bleu_tokenize.h"
#include "unmask/eval/inputs.h"

namespace unmask {
namespace {

using namespace unmask::test;
using Lines = std::vector<std::string>;

const fs::path kFixtures = fs::path(UNMASK_SOURCE_DIR) / "tests" / "fixtures" / "bleu";

const nlohmann::json& expected() {
  static const nlohmann::json j = nlohmann::json::parse(read_text(kFixtures / "expected.json"));
  return j;
}

Lines fixture(const std::string& name) { return read_text_lines(kFixtures / (name + ".txt"), "fixture"); }

BleuOptions options(const std::string& tokenize, const std::string& smooth, double value = -1, bool eff = false) {
  BleuOptions o;
  o.tokenizer = parse_bleu_tokenizer(tokenize);
  o.smooth = parse_bleu_smooth(smooth);
  o.smooth_value = value;
  o.effective_order = eff;
  return o;
}

// |a - b| <= rel * |b| (NLTK's "zero" scores are ~1e-231, so relative).
void expect_rel(double a, double b, double rel, const std::string& what) {
  EXPECT_LE(std::fabs(a - b), rel * std::fabs(b)) << what << ": " << a << " vs " << b;
}

// ---- sacrebleu test/test_bleu.py ----------------------------------------------

const Lines kHyps = {"The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."};
const std::vector<Lines> kRefs = {
    {"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
    {"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."}};

// sacrebleu.raw_corpus_bleu: tokenize none, floor smoothing, effective order.
BleuScore raw_corpus_bleu(const Lines& hyps, const std::vector<Lines>& refs, double floor) {
  return corpus_bleu(hyps, refs, options("none", "floor", floor, true));
}

TEST(BleuSacrebleu, CorpusVectors) {
  EXPECT_NEAR(corpus_bleu(kHyps, kRefs, {}).score, 48.530827, 1e-6);
  EXPECT_EQ(corpus_bleu({"", "", ""}, kRefs, {}).score, 0.0);  // empty hypotheses are kept
  EXPECT_NEAR(corpus_bleu(kHyps, kRefs, options("none", "exp")).score, 49.1919566, 1e-6);
  EXPECT_NEAR(corpus_bleu(kHyps, kRefs, options("13a", "exp")).score, 48.530827, 1e-6);
  EXPECT_NEAR(corpus_bleu(kHyps, kRefs, options("13a", "none")).score, 48.530827, 1e-6);
}

TEST(BleuSacrebleu, RawCorpusVectors) {
  EXPECT_NEAR(raw_corpus_bleu({"this is a test", "another test"}, {{"ref1", "ref2"}}, 0.01).score, 0.0, 1e-8);
  EXPECT_NEAR(raw_corpus_bleu({"this is a test"}, {{"this is a test"}}, 0.01).score / 100, 1.0, 1e-8);
  EXPECT_NEAR(raw_corpus_bleu({"this is a fest"}, {{"this is a test"}}, 0.01).score / 100, 0.223606797749979, 1e-8);
  // test_effective_order
  EXPECT_NEAR(raw_corpus_bleu({"test"}, {{"a test"}}, 0.01).score / 100, 0.3678794411714425, 1e-8);
  EXPECT_NEAR(raw_corpus_bleu({"a test"}, {{"a test"}}, 0.01).score / 100, 1.0, 1e-8);
  EXPECT_NEAR(raw_corpus_bleu({"a little test"}, {{"a test"}}, 0.01).score / 100, 0.03218297948685433, 1e-8);
  // test_offset: floor 0 gives 0, the default floor 0.1 does not.
  const Lines hyp = {"am I am a character sequence"};
  const std::vector<Lines> ref = {{"I am a symbol string sequence a a"}};
  EXPECT_NEAR(raw_corpus_bleu(hyp, ref, 0.0).score, 0.0, 1e-8);
  EXPECT_NEAR(raw_corpus_bleu(hyp, ref, -1).score / 100, 0.1555722182, 1e-8);
  // test_statistics
  const BleuScore s = raw_corpus_bleu(hyp, ref, 0.01);
  EXPECT_EQ(s.counts, (std::vector<std::int64_t>{4, 2, 1, 0}));
  EXPECT_EQ(s.totals, (std::vector<std::int64_t>{6, 5, 4, 3}));
}

TEST(BleuSacrebleu, ScoringFromStatistics) {
  // test_scoring (BLEU.compute_bleu's own default is smooth 'none').
  EXPECT_NEAR(compute_bleu({9, 7, 5, 3}, {10, 8, 6, 4}, 11, 11, options("13a", "none")).score / 100, 0.8375922397,
              1e-8);
  // test_degenerate_statistics: floor smoothing, exact zeros.
  struct Case {
    std::vector<std::int64_t> counts, totals;
    std::int64_t sys_len, ref_len;
    double floor;
  };
  for (const Case& c : std::vector<Case>{{{0, 0, 0, 0}, {4, 4, 2, 1}, 0, 1, 0.0},
                                         {{0, 0, 0, 0}, {10, 11, 12, 0}, 14, 10, 0.0},
                                         {{0, 0, 0, 0}, {0, 0, 0, 0}, 0, 0, 0.0},
                                         {{6, 5, 4, 0}, {6, 5, 4, 3}, 6, 6, 0.0},
                                         {{0, 0, 0, 0}, {0, 0, 0, 0}, 0, 0, 0.1},
                                         {{0, 0, 0, 0}, {0, 0, 0, 0}, 1, 5, 0.01}})
    EXPECT_EQ(compute_bleu(c.counts, c.totals, c.sys_len, c.ref_len, options("13a", "floor", c.floor)).score, 0.0);
}

TEST(BleuSacrebleu, MaxNgramOrder) {
  const char* expected[] = {"77.65", "60.50", "53.93", "48.53", "46.14", "43.28"};
  for (int order = 1; order <= 6; ++order) {
    BleuOptions o;
    o.max_order = order;
    char printed[32];
    std::snprintf(printed, sizeof printed, "%.2f", corpus_bleu(kHyps, kRefs, o).score);
    EXPECT_EQ(std::string(printed), expected[order - 1]) << "order " << order;
  }
}

// ---- sacrebleu test/test_sentence_bleu.py -------------------------------------

TEST(BleuSacrebleu, SentenceVectors) {
  const std::string ref = "producţia de zahăr brut se exprimă în zahăr alb;";
  const std::string sys = "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;";
  struct Case {
    std::string smooth;
    double value;
    std::string tok;
    double score;
  };
  for (const Case& c : std::vector<Case>{{"exp", -1, "13a", 8.493},
                                         {"none", -1, "13a", 0.0},
                                         {"floor", -1, "13a", 4.51688},
                                         {"floor", 0.1, "13a", 4.51688},
                                         {"floor", 0.5, "13a", 10.10},
                                         {"add-k", -1, "13a", 14.882},
                                         {"add-k", 1, "13a", 14.882},
                                         {"add-k", 2, "13a", 21.389},
                                         {"exp", -1, "none", 7.347}}) {
    EXPECT_NEAR(sentence_bleu(sys, {ref}, options(c.tok, c.smooth, c.value, true)).score, c.score, 1e-3)
        << c.smooth << " " << c.value << " " << c.tok;
    // #141: no match at all is 0 whatever the smoothing.
    EXPECT_EQ(sentence_bleu("this is a cat", {"okay thanks"}, options(c.tok, c.smooth, c.value, true)).score, 0.0);
  }
  EXPECT_NEAR(sentence_bleu(sys, {ref}).score, 8.493, 1e-3);  // sentence defaults: exp, effective order
}

// ---- tokenizers ---------------------------------------------------------------

TEST(BleuTokenize, MatchesSacrebleu13a) {
  for (const auto& c : expected()["tokenize_13a"]) {
    const std::string in = c[0], out = c[1];
    EXPECT_EQ(tokenize_13a(rstrip_whitespace(in)), out) << in;
  }
  EXPECT_EQ(tokenize_13a("Hello, world! It's 3.14, isn't it?"), "Hello , world ! It's 3.14 , isn't it ?");
  // Entities are replaced in sacrebleu's order (&quot; &amp; &lt; &gt;), each over the whole line.
  EXPECT_EQ(tokenize_13a("&amp;lt;"), "<");
  EXPECT_EQ(tokenize_13a("&amp;quot;"), "& quot ;");
}

TEST(BleuTokenize, NoneAndSpaceFollowPython) {
  EXPECT_EQ(bleu_tokens("a\u00a0b\tc  d\u3000", BleuTokenizer::kNone), (Lines{"a", "b", "c", "d"}));
  EXPECT_EQ(bleu_tokens(" a  b \n", BleuTokenizer::kSpace), (Lines{"a", "", "b"}));  // strip().split(' ')
  EXPECT_EQ(bleu_tokens("", BleuTokenizer::kSpace), (Lines{""}));                     // ''.split(' ') == ['']
  EXPECT_TRUE(bleu_tokens("", BleuTokenizer::kNone).empty());
  EXPECT_EQ(strip_whitespace("\u2028 x \u00a0"), "x");
  EXPECT_EQ(split_whitespace("\xc2\x85x\xe2\x80\x8ay"), (Lines{"x", "y"}));  // U+0085, U+200A
  EXPECT_EQ(split_whitespace("\xe2\x80\x8bx"), (Lines{"\xe2\x80\x8bx"}));   // U+200B is not whitespace
}

// ---- the fixture: sacrebleu ---------------------------------------------------

TEST(BleuFixture, CorpusEveryTokenizerSmoothingAndStreams) {
  const Lines hyps = fixture("hyps"), refs = fixture("refs"), refs2 = fixture("refs2");
  for (const auto& c : expected()["corpus"]) {
    std::vector<Lines> streams;
    for (const auto& s : c["refs"]) streams.push_back(s == "refs" ? refs : refs2);
    const double value = c["smooth_value"].is_null() ? -1.0 : c["smooth_value"].get<double>();
    const BleuScore s = corpus_bleu(hyps, streams, options(c["tokenize"], c["smooth"], value, c["effective_order"]));
    const std::string what = c["tokenize"].get<std::string>() + " " + c["smooth"].get<std::string>();
    EXPECT_NEAR(s.score, c["score"].get<double>(), 1e-9) << what;
    EXPECT_NEAR(s.bp, c["bp"].get<double>(), 1e-12) << what;
    EXPECT_EQ(s.sys_len, c["sys_len"].get<std::int64_t>()) << what;
    EXPECT_EQ(s.ref_len, c["ref_len"].get<std::int64_t>()) << what;
    if (c["smooth"] != "add-k") {  // sacrebleu reports add-k's adjusted counts; we report the raw ones
      EXPECT_EQ(s.counts, c["counts"].get<std::vector<std::int64_t>>()) << what;
      EXPECT_EQ(s.totals, c["totals"].get<std::vector<std::int64_t>>()) << what;
    }
    for (std::size_t n = 0; n < 4; ++n) EXPECT_NEAR(s.precisions[n], c["precisions"][n].get<double>(), 1e-9) << what;
  }
}

TEST(BleuFixture, SentenceEverySmoothing) {
  const Lines hyps = fixture("hyps"), refs = fixture("refs"), refs2 = fixture("refs2");
  const auto& defaults = expected()["sentence"];
  for (std::size_t i = 0; i < hyps.size(); ++i)
    EXPECT_NEAR(sentence_bleu(hyps[i], {refs[i], refs2[i]}).score, defaults[i].get<double>(), 1e-9) << i;
  for (const auto& c : expected()["sentence_all"]) {
    const double value = c["smooth_value"].is_null() ? -1.0 : c["smooth_value"].get<double>();
    const BleuOptions o = options(c["tokenize"], c["smooth"], value, c["effective_order"]);
    for (std::size_t i = 0; i < hyps.size(); ++i)
      EXPECT_NEAR(sentence_bleu(hyps[i], {refs[i]}, o).score, c["scores"][i].get<double>(), 1e-9)
          << c["tokenize"] << " " << c["smooth"] << " " << value << " eff " << c["effective_order"] << " line " << i;
  }
}

TEST(BleuFixture, SacrebleuSelfBleu) {
  const BleuScore s = sacrebleu_self_bleu(fixture("hyps"), {});
  const auto& e = expected()["sacrebleu_self"];
  EXPECT_NEAR(s.score, e["score"].get<double>(), 1e-9);
  EXPECT_EQ(s.ref_len, e["ref_len"].get<std::int64_t>());
  EXPECT_EQ(s.counts, e["counts"].get<std::vector<std::int64_t>>());
}

// ---- the fixture: NLTK / DiffusionBERT ----------------------------------------

void expect_matches_nltk(const BleuScore& s, const nlohmann::json& e, const std::string& what) {
  expect_rel(s.score / 100, e["mean"].get<double>(), 1e-12, what + " mean");
  ASSERT_EQ(s.sentence_scores.size(), e["sentence_scores"].size()) << what;
  for (std::size_t i = 0; i < s.sentence_scores.size(); ++i)
    expect_rel(s.sentence_scores[i], e["sentence_scores"][i].get<double>(), 1e-12, what + " line " + std::to_string(i));
}

TEST(BleuFixture, DiffusionBertProtocolMatchesNltk) {
  const Lines hyps = fixture("hyps"), pool = fixture("pool");
  for (const std::string tok : {"space", "13a", "none"}) {
    BleuOptions o;
    o.tokenizer = parse_bleu_tokenizer(tok);
    expect_matches_nltk(diffusionbert_bleu(hyps, pool, o), expected()["diffusionbert"][tok], "pool " + tok);
    expect_matches_nltk(diffusionbert_self_bleu(hyps, o), expected()["diffusionbert_self"][tok], "self " + tok);
  }
}

// ---- invariants -----------------------------------------------------------------

TEST(BleuInvariants, CorpusAgainstItselfIs100) {
  const Lines pool = fixture("pool");
  EXPECT_NEAR(corpus_bleu(pool, {pool}, {}).score, 100.0, 1e-9);
  Lines long_lines;  // the whole-set protocol: every line finds itself (4-grams need 4 tokens)
  for (const auto& l : pool)
    if (bleu_tokens(l, BleuTokenizer::kSpace).size() >= 4) long_lines.push_back(l);
  BleuOptions o;
  o.tokenizer = BleuTokenizer::kSpace;
  const BleuScore s = diffusionbert_bleu(long_lines, pool, o);
  EXPECT_NEAR(s.score, 100.0, 1e-9);
  EXPECT_NEAR(s.bp, 1.0, 1e-12);
}

TEST(BleuInvariants, ThreadsDoNotChangeTheResult) {
  const Lines hyps = fixture("hyps"), pool = fixture("pool");
  BleuOptions one, many;
  one.threads = 1;
  many.threads = 4;
  one.tokenizer = many.tokenizer = BleuTokenizer::kSpace;
  const BleuScore a = diffusionbert_bleu(pool, hyps, one), b = diffusionbert_bleu(pool, hyps, many);
  EXPECT_EQ(a.score, b.score);
  EXPECT_EQ(a.sentence_scores, b.sentence_scores);
  EXPECT_EQ(diffusionbert_self_bleu(pool, one).score, diffusionbert_self_bleu(pool, many).score);
  one.tokenizer = many.tokenizer = BleuTokenizer::k13a;
  EXPECT_EQ(corpus_bleu(pool, {pool}, one).score, corpus_bleu(pool, {pool}, many).score);
  EXPECT_EQ(sacrebleu_self_bleu(pool, one).score, sacrebleu_self_bleu(pool, many).score);
}

TEST(BleuInvariants, SelfBleuLeavesOutOnlyTheHypothesisItself) {
  BleuOptions o;
  o.tokenizer = BleuTokenizer::kSpace;
  // Two identical lines score 1 against each other; a third unrelated line 0.
  const BleuScore s = diffusionbert_self_bleu({"a b c d e", "a b c d e", "v w x y z"}, o);
  ASSERT_EQ(s.sentence_scores.size(), 3u);
  EXPECT_DOUBLE_EQ(s.sentence_scores[0], 1.0);
  EXPECT_DOUBLE_EQ(s.sentence_scores[1], 1.0);
  EXPECT_EQ(s.sentence_scores[2], 0.0);
  // Closest reference length among the others: lengths 2, 5, 9 give 2 -> 5, 5 -> 2 (3 < 4), 9 -> 5.
  const BleuScore t = diffusionbert_self_bleu({"a b", "a b c d e", "a b c d e f g h i"}, o);
  EXPECT_EQ(t.ref_len, 5 + 2 + 5);
}

TEST(BleuErrors, SayWhatIsWrong) {
  EXPECT_NE(error_of([] { corpus_bleu({"a", "b"}, {{"a"}}, {}); }).find("reference stream 1 has 1 lines but there are 2"),
            std::string::npos);
  EXPECT_NE(error_of([] { diffusionbert_self_bleu({"only one"}, {}); }).find("at least 2 hypotheses"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_bleu_smooth("laplace"); }).find("valid: exp, floor, add-k, none"), std::string::npos);
  EXPECT_NE(error_of([] { parse_bleu_tokenizer("intl"); }).find("valid: 13a, none, space"), std::string::npos);
  EXPECT_NE(error_of([] { parse_bleu_protocol("nltk"); }).find("valid: sacrebleu, diffusionbert"), std::string::npos);
}

}  // namespace
}  // namespace unmask
