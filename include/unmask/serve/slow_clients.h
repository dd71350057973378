// A deadline for each request's arrival on `unmask serve`'s connections: a
// client that has not delivered its request line, headers and body within
// `limit` of connecting (or of its previous response) is shut down, however
// slowly it keeps trickling bytes. The HTTP library's own timeout applies to
// each read only, which a slowloris client never trips. The guard finds the
// server's connections in /proc/self/fd (Linux) every 200 ms; the server
// tells it when a request reaches its handler and when its response is done.
// The same scan notices a client that closes its connection while its
// request is being handled (a peek reads end-of-stream or a reset), so a
// request whose client has left stops at its next step instead of running
// to an answer nobody reads.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace unmask::serve {

class SlowClientGuard {
 public:
  SlowClientGuard(int port, std::chrono::milliseconds limit);
  ~SlowClientGuard();
  SlowClientGuard(const SlowClientGuard&) = delete;
  SlowClientGuard& operator=(const SlowClientGuard&) = delete;

  // A request from this peer has arrived whole (its handler runs).
  void started(const std::string& address, int port);
  // While this peer's request is handled, `on_close` runs (once, on the
  // guard's thread, so it must be quick) if the peer closes the connection.
  void watch_close(const std::string& address, int port, std::function<void()> on_close);
  // Its response is written: the next request on the connection gets a new deadline.
  void finished(const std::string& address, int port);
  // Connections shut down for missing their deadline so far.
  std::int64_t closed() const { return closed_; }

 private:
  struct Connection {
    std::chrono::steady_clock::time_point since;  // waiting for a request since
    bool busy = false;                            // a request is being handled
    bool seen = false;                            // found in the last scan
    std::function<void()> on_close;               // while busy: the peer left
  };
  void loop();
  void scan();

  int port_;
  std::chrono::milliseconds limit_;
  std::mutex mu_;
  std::map<std::string, Connection> connections_;  // by peer "address:port"
  std::atomic<bool> stop_{false};
  std::atomic<std::int64_t> closed_{0};
  std::thread thread_;
};

}  // namespace unmask::serve
