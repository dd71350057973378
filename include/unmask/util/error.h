// The one exception type for bad input and failed operations. Its message is a
// single line that names what is wrong and what would be valid; the CLI prints
// it as `unmask: error: <message>` and exits with status 1.
#pragma once

#include <stdexcept>
#include <string>

namespace unmask {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws Error(message). Use where a throw expression would be awkward.
[[noreturn]] void fail(const std::string& message);

}  // namespace unmask
