// Corpus formats (lines, docs, jsonl) and the invalid-UTF-8 policies.
#include <gtest/gtest.h>

#include "test_util.h"
#include "unmask/util/corpus_reader.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

using namespace unmask::test;

std::vector<std::string> read_all(const std::vector<fs::path>& files, CorpusOptions o, CorpusStats* stats = nullptr) {
  CorpusReader reader(files, o);
  std::vector<std::string> out;
  for (std::string t; reader.next(t);) out.push_back(t);
  if (stats) *stats = reader.stats();
  return out;
}

TEST(CorpusReader, LinesSkipBlankLinesAndStripCarriageReturns) {
  TempDir dir;
  write_text(dir / "a.txt", "first line\r\n\n  \nsecond line\nno newline at end");
  CorpusStats stats;
  const auto ex = read_all({dir / "a.txt"}, {}, &stats);
  EXPECT_EQ(ex, (std::vector<std::string>{"first line", "second line", "no newline at end"}));
  EXPECT_EQ(stats.examples, 3u);
  EXPECT_EQ(stats.bytes, fs::file_size(dir / "a.txt"));
}

TEST(CorpusReader, DocsSplitOnBlankAndPercentLinesButNeverAcrossFiles) {
  TempDir dir;
  write_text(dir / "a.txt", "one\ntwo\n%\nthree\n\nfour\nfive");
  write_text(dir / "b.txt", "six\n%\n%\nseven\n");
  CorpusOptions o;
  o.format = CorpusFormat::Docs;
  EXPECT_EQ(read_all({dir / "a.txt", dir / "b.txt"}, o),
            (std::vector<std::string>{"one\ntwo", "three", "four\nfive", "six", "seven"}));
  o.separator = DocSeparator::Percent;  // fortune files: blank lines stay inside a record
  EXPECT_EQ(read_all({dir / "a.txt", dir / "b.txt"}, o),
            (std::vector<std::string>{"one\ntwo", "three\n\nfour\nfive", "six", "seven"}));
  o.separator = DocSeparator::Blank;
  EXPECT_EQ(read_all({dir / "a.txt"}, o), (std::vector<std::string>{"one\ntwo\n%\nthree", "four\nfive"}));
}

TEST(CorpusReader, JsonlReadsTheTextField) {
  TempDir dir;
  write_text(dir / "a.jsonl", "{\"text\": \"hello\\nworld\", \"id\": 1}\n\n{\"text\": \"second\"}\n");
  CorpusOptions o;
  o.format = CorpusFormat::Jsonl;
  EXPECT_EQ(read_all({dir / "a.jsonl"}, o), (std::vector<std::string>{"hello\nworld", "second"}));
  write_text(dir / "b.jsonl", "{\"content\": \"x\"}\n");
  o.text_field = "content";
  EXPECT_EQ(read_all({dir / "b.jsonl"}, o), (std::vector<std::string>{"x"}));
}

TEST(CorpusReader, JsonlErrorsNameFileAndLine) {
  TempDir dir;
  CorpusOptions o;
  o.format = CorpusFormat::Jsonl;
  write_text(dir / "a.jsonl", "{\"text\": \"ok\"}\n{\"body\": \"no text\"}\n");
  const std::string e = error_of([&] { read_all({dir / "a.jsonl"}, o); });
  EXPECT_NE(e.find("a.jsonl:2: JSONL record has no string field 'text'"), std::string::npos) << e;
  write_text(dir / "b.jsonl", "{\"text\": \"ok\"}\n{broken\n");
  const std::string e2 = error_of([&] { read_all({dir / "b.jsonl"}, o); });
  EXPECT_NE(e2.find("b.jsonl:2: invalid JSON"), std::string::npos) << e2;
}

TEST(CorpusReader, InvalidUtf8ErrorNamesFileAndByteOffset) {
  TempDir dir;
  write_text(dir / "bad.txt", "good line\nbad \xff byte\n");
  CorpusOptions o;
  o.utf8 = Utf8Policy::Error;
  const std::string e = error_of([&] { read_all({dir / "bad.txt"}, o); });
  EXPECT_NE(e.find("bad.txt: invalid UTF-8 at byte offset 14 (line 2)"), std::string::npos) << e;
}

TEST(CorpusReader, InvalidUtf8IsReplacedAndCounted) {
  TempDir dir;
  write_text(dir / "bad.txt", "good line\nbad \xff byte\ntruncated \xe2\x82\n");
  CorpusStats stats;
  const auto ex = read_all({dir / "bad.txt"}, {}, &stats);
  ASSERT_EQ(ex.size(), 3u);
  EXPECT_EQ(ex[1], "bad \xEF\xBF\xBD byte");
  EXPECT_EQ(ex[2].substr(0, 10), "truncated ");
  EXPECT_NE(ex[2].find("\xEF\xBF\xBD"), std::string::npos);
  EXPECT_EQ(stats.invalid_utf8_repaired, 2u);
  EXPECT_EQ(stats.invalid_utf8_skipped, 0u);
}

TEST(CorpusReader, InvalidUtf8CanSkipTheWholeExample) {
  TempDir dir;
  write_text(dir / "bad.txt", "keep\n%\ndrop \xc3\x28 this\nwhole record\n%\nkeep too\n");
  CorpusOptions o;
  o.format = CorpusFormat::Docs;
  o.utf8 = Utf8Policy::Skip;
  CorpusStats stats;
  EXPECT_EQ(read_all({dir / "bad.txt"}, o, &stats), (std::vector<std::string>{"keep", "keep too"}));
  EXPECT_EQ(stats.invalid_utf8_skipped, 1u);
}

TEST(CorpusReader, MissingOrUnreadableInputsAreErrors) {
  TempDir dir;
  EXPECT_NE(error_of([&] { CorpusReader({dir / "nope.txt"}, {}); }).find("input file not found"), std::string::npos);
  EXPECT_NE(error_of([&] { CorpusReader({dir.path()}, {}); }).find("not a regular file"), std::string::npos);
  EXPECT_NE(error_of([&] { CorpusReader({}, {}); }).find("no input files"), std::string::npos);
  EXPECT_NE(error_of([&] { parse_corpus_format("csv"); }).find("valid: lines, docs, jsonl"), std::string::npos);
  EXPECT_NE(error_of([&] { parse_utf8_policy("ignore"); }).find("valid: error, replace, skip"), std::string::npos);
}

}  // namespace
}  // namespace unmask
