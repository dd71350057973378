// PCRE2 (8-bit, UTF + UCP, JIT) behind RegexSplitter (regex_split.h).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "regex_split.h"

#include <pcre2.h>

#include "unmask/util/error.h"

namespace unmask {
namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(code, buf, sizeof buf);
  return reinterpret_cast<const char*>(buf);
}

// One match data per thread, big enough for the whole match (group 0); a
// pattern with groups then reports rc 0 with group 0 still set.
pcre2_match_data* thread_match_data() {
  struct Holder {
    pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
    ~Holder() { pcre2_match_data_free(data); }
  };
  thread_local Holder holder;
  return holder.data;
}

}  // namespace

RegexSplitter::RegexSplitter(const std::string& pattern, bool literal, const std::string& where) : where_(where) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  const uint32_t options = PCRE2_UTF | PCRE2_UCP | (literal ? PCRE2_LITERAL : 0u);
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &error,
                                   &offset, nullptr);
  if (!code)
    throw Error(where + ": the pre-tokenizer regex does not compile with PCRE2 (" + pcre2_message(error) +
                " at offset " + std::to_string(offset) + "): " + pattern);
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // when unavailable, pcre2_match interprets
  code_ = code;
}

RegexSplitter::~RegexSplitter() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

bool RegexSplitter::next_match(std::string_view text, std::size_t at, std::size_t& begin, std::size_t& end) const {
  pcre2_match_data* data = thread_match_data();
  // The text was checked (or made) valid UTF-8 once: no check per call.
  const int rc = pcre2_match(static_cast<const pcre2_code*>(code_), reinterpret_cast<PCRE2_SPTR>(text.data()),
                             text.size(), at, PCRE2_NO_UTF_CHECK, data, nullptr);
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) throw Error(where_ + ": the pre-tokenizer regex failed (" + pcre2_message(rc) + ")");
  const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data);
  begin = ov[0];
  end = ov[1];
  return true;
}

}  // namespace unmask
