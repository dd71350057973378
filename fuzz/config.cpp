// Config JSON plus `--set` overrides: the first line-separated part is a
// config file, every further line an assignment "a.b=value". The resolved
// config is built and validated as `unmask train` does.
#include <sstream>

#include "harness.h"
#include "unmask/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto cut = text.find("\n---\n");
  const std::string file = text.substr(0, cut);
  const std::string sets = cut == std::string::npos ? "" : text.substr(cut + 5);
  const auto path = unmask::fuzz::write_scratch("config.json", data, file.size());
  return unmask::fuzz::expect_clear_errors([&] {
    unmask::ConfigBuilder builder;
    builder.merge_file(path.string());
    std::istringstream lines(sets);
    for (std::string line; std::getline(lines, line);) builder.set(line);
    unmask::validate_run_config(builder.build());
  });
}
