// A deadline for each request's arrival on `unmask serve`'s connections: a
// client that has not delivered its request line, headers and body within
// `limit` of connecting (or of its previous response) is shut down, however
// slowly it keeps trickling bytes. The HTTP library's own timeout applies to
// each read only, which a slowloris client never trips. The guard finds the
// server's connections in /proc/self/fd (Linux) every 200 ms; the server
// tells it when a request reaches its handler and when its response is done.
#pragma once

#include <atomic>
#include <chrono>
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
  // Its response is written: the next request on the connection gets a new deadline.
  void finished(const std::string& address, int port);
  // Connections shut down for missing their deadline so far.
  std::int64_t closed() const { return closed_; }

 private:
  struct Connection {
    std::chrono::steady_clock::time_point since;  // waiting for a request since
    bool busy = false;                            // a request is being handled
    bool seen = false;                            // found in the last scan
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
