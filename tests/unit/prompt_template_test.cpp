// [MASK:n] prompt templates: pieces in order, strict spans, a bound on the
// tokens a prompt may ask for (an unbounded n once allocated n ids at once).
#include <gtest/gtest.h>

#include "test_util.h"
#include "unmask/sampling/prompt_template.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

using namespace unmask::test;

TEST(PromptTemplate, SplitsTextAndSpansInOrder) {
  const auto p = parse_prompt_template("The [MASK:5] sat on the [MASK:2].");
  ASSERT_EQ(p.size(), 5u);
  EXPECT_EQ(p[0].text, "The ");
  EXPECT_EQ(p[1].masks, 5);
  EXPECT_EQ(p[2].text, " sat on the ");
  EXPECT_EQ(p[3].masks, 2);
  EXPECT_EQ(p[4].text, ".");
  EXPECT_TRUE(parse_prompt_template("").empty());
  const auto spans = parse_prompt_template("[MASK:1][MASK:12]");
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[1].masks, 12);
  // Text that only looks like a span stays text.
  EXPECT_EQ(parse_prompt_template("[MASK] and [MASK 3]").front().text, "[MASK] and [MASK 3]");
}

TEST(PromptTemplate, BadSpansAreClearErrors) {
  for (const char* bad : {"a [MASK:0] b", "a [MASK:] b", "a [MASK:-2] b", "a [MASK: 5] b", "a [MASK:5", "[MASK:x]"})
    EXPECT_NE(error_of([&] { parse_prompt_template(bad); }).find("bad infilling span in --prompt near"),
              std::string::npos)
        << bad;
  // An n far beyond any --length is refused before anything is allocated.
  EXPECT_NE(error_of([] { parse_prompt_template("[MASK:99999999999999999999999]"); }).find("more than 1048576 tokens"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_prompt_template("[MASK:1048576][MASK:1]"); }).find("more than 1048576 tokens"),
            std::string::npos);
  EXPECT_EQ(parse_prompt_template("[MASK:1048576]").front().masks, 1048576);
}

}  // namespace
}  // namespace unmask
