// Terminal progress bar and periodic progress log lines.
#include "unmask/util/progress.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "unmask/util/log.h"
#include "unmask/util/text.h"

namespace unmask {
namespace {

std::string clock_text(double seconds) {
  const auto s = static_cast<long long>(seconds + 0.5);
  return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
                   : fmt::format("{}:{:02}", s / 60, s % 60);
}

}  // namespace

Progress::Progress(std::string label, std::uint64_t total, std::string unit, double log_every_s)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), log_every_s_(log_every_s),
      tty_(log::stderr_is_tty() && spdlog::get_level() <= spdlog::level::info),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

Progress::~Progress() {
  if (!finished_) finish();
}

void Progress::update(std::uint64_t done) {
  done_ = done;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since >= (tty_ ? 0.1 : log_every_s_)) {
    last_draw_ = now;
    render(false);
  }
}

void Progress::finish() {
  finished_ = true;
  render(true);
}

std::string Progress::rate_text(double per_s) const {
  if (unit_ == "B") return human_bytes(per_s) + "/s";
  if (per_s >= 1e6) return fmt::format("{:.2f}M {}/s", per_s / 1e6, unit_);
  if (per_s >= 1e3) return fmt::format("{:.1f}k {}/s", per_s / 1e3, unit_);
  return fmt::format("{:.1f} {}/s", per_s, unit_);
}

void Progress::render(bool final) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  const std::string amount = unit_ == "B" ? human_bytes(static_cast<double>(done_))
                                          : fmt::format("{} {}", done_, unit_);
  std::string text;
  if (total_ > 0) {
    const double frac = std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_));
    const double eta = rate > 0 ? static_cast<double>(total_ - std::min(done_, total_)) / rate : 0.0;
    if (tty_) {
      const int width = 30, filled = static_cast<int>(frac * width);
      text = fmt::format("{} [{}{}] {:5.1f}% {} {} ETA {}", label_, std::string(filled, '#'),
                         std::string(width - filled, ' '), 100 * frac, amount, rate_text(rate), clock_text(eta));
    } else {
      text = fmt::format("{}: {:.1f}% {} {} elapsed {} ETA {}", label_, 100 * frac, amount, rate_text(rate),
                         clock_text(elapsed), clock_text(eta));
    }
  } else {
    text = fmt::format("{}: {} {} elapsed {}", label_, amount, rate_text(rate), clock_text(elapsed));
  }
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s%s", text.c_str(), final ? "\n" : "");
    std::fflush(stderr);
  } else if (!final) {
    spdlog::info(text);
  }
}

}  // namespace unmask
