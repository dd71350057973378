// Progress of long work (prepare, train, sample, eval): a redrawn bar with
// rate and ETA when stderr is a terminal, a periodic log line otherwise.
// Written by hand: no Debian package offers a progress bar for C++.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace unmask {

class Progress {
 public:
  // `total` 0 means unknown (no percentage or ETA). `unit` "B" shows bytes.
  Progress(std::string label, std::uint64_t total, std::string unit, double log_every_s = 10.0);
  ~Progress();

  void advance(std::uint64_t n) { update(done_ + n); }
  void update(std::uint64_t done);
  void finish();  // final redraw / line; called by the destructor if needed

 private:
  void render(bool final);
  std::string rate_text(double per_s) const;

  std::string label_, unit_;
  std::uint64_t total_, done_ = 0;
  double log_every_s_;
  bool tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace unmask
