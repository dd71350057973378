// Logging facade over spdlog. It takes finished strings and includes neither
// spdlog nor fmt, so that code compiled against LibTorch (which bundles its own
// fmt) can log too. Code in unmask_core may use spdlog directly.
#pragma once

#include <string>

namespace unmask::log {

// trace | debug | info | warn | error | off; Error on anything else.
void set_level(const std::string& level);
void init();  // stderr sink, "[time] [level] message"; idempotent

void debug(const std::string& message);
void info(const std::string& message);
void warn(const std::string& message);
void error(const std::string& message);

bool stderr_is_tty();

}  // namespace unmask::log
