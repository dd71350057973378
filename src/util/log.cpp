// spdlog-backed implementation of the logging facade.
#include "unmask/util/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "unmask/util/error.h"

namespace unmask::log {

void init() {
  static bool done = false;
  if (done) return;
  done = true;
  auto logger = spdlog::stderr_color_mt("unmask");
  logger->set_pattern("[%H:%M:%S] [%^%l%$] %v");
  spdlog::set_default_logger(logger);
}

void set_level(const std::string& level) {
  init();
  static const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "off"};
  for (const char* name : kLevels) {
    if (level == name) {
      spdlog::set_level(spdlog::level::from_str(level));
      return;
    }
  }
  throw Error("unknown log level '" + level + "' (valid: trace, debug, info, warn, error, off)");
}

void debug(const std::string& message) { spdlog::debug(message); }
void info(const std::string& message) { spdlog::info(message); }
void warn(const std::string& message) { spdlog::warn(message); }
void error(const std::string& message) { spdlog::error(message); }

bool stderr_is_tty() { return ::isatty(STDERR_FILENO) == 1; }

}  // namespace unmask::log
