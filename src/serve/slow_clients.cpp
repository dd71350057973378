// SlowClientGuard (slow_clients.h): per-request arrival deadlines, and
// clients gone mid-request, from a scan of the process's sockets.
#include "unmask/serve/slow_clients.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace unmask::serve {
namespace {

std::string key(const std::string& address, int port) { return address + ":" + std::to_string(port); }

// "address:port" of the peer of `fd` when it is a connected TCP socket whose
// local port is `local_port`; "" otherwise (files, the listening socket, others).
std::string peer_of(int fd, int local_port) {
  sockaddr_storage local{}, peer{};
  socklen_t n = sizeof local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &n) != 0) return "";
  int port = -1;
  if (local.ss_family == AF_INET) port = ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
  else if (local.ss_family == AF_INET6) port = ntohs(reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);
  if (port != local_port) return "";
  n = sizeof peer;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &n) != 0) return "";  // the listening socket
  char host[INET6_ADDRSTRLEN] = {0};
  if (peer.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<sockaddr_in*>(&peer);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    return key(host, ntohs(a->sin_port));
  }
  const auto* a = reinterpret_cast<sockaddr_in6*>(&peer);
  inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
  return key(host, ntohs(a->sin6_port));
}

// The peer has closed (end-of-stream) or reset the connection. A peek takes
// nothing from the stream: bytes of a next request stay for the library.
bool peer_left(int fd) {
  char byte;
  const ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

}  // namespace

SlowClientGuard::SlowClientGuard(int port, std::chrono::milliseconds limit)
    : port_(port), limit_(limit), thread_([this] { loop(); }) {}

SlowClientGuard::~SlowClientGuard() {
  stop_ = true;
  thread_.join();
}

void SlowClientGuard::started(const std::string& address, int port) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& c = connections_[key(address, port)];
  c.busy = true;
  c.seen = true;
}

void SlowClientGuard::watch_close(const std::string& address, int port, std::function<void()> on_close) {
  std::lock_guard<std::mutex> lock(mu_);
  connections_[key(address, port)].on_close = std::move(on_close);
}

void SlowClientGuard::finished(const std::string& address, int port) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& c = connections_[key(address, port)];
  c.busy = false;
  c.on_close = nullptr;
  c.seen = true;
  c.since = std::chrono::steady_clock::now();
}

void SlowClientGuard::loop() {
  while (!stop_) {
    scan();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

void SlowClientGuard::scan() {
  std::vector<std::pair<int, std::string>> sockets;  // fd, peer
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (const dirent* e = readdir(dir)) {
      if (e->d_name[0] == '.') continue;
      const int fd = std::atoi(e->d_name);
      char target[64] = {0};
      const std::string link = std::string("/proc/self/fd/") + e->d_name;
      if (readlink(link.c_str(), target, sizeof target - 1) <= 0 || std::strncmp(target, "socket:", 7) != 0) continue;
      const std::string peer = peer_of(fd, port_);
      if (!peer.empty()) sockets.emplace_back(fd, peer);
    }
    closedir(dir);
  }
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [peer, c] : connections_) c.seen = false;
  for (const auto& [fd, peer] : sockets) {
    auto [it, fresh] = connections_.try_emplace(peer);
    Connection& c = it->second;
    if (fresh) c.since = now;
    c.seen = true;
    if (c.busy && c.on_close && peer_left(fd)) {
      auto on_close = std::move(c.on_close);
      c.on_close = nullptr;
      on_close();
    }
    if (!c.busy && now - c.since > limit_) {
      shutdown(fd, SHUT_RDWR);  // the worker's read returns; the library closes the connection
      c.since = now + std::chrono::hours(1);  // once
      ++closed_;
    }
  }
  for (auto it = connections_.begin(); it != connections_.end();)
    it = it->second.seen || it->second.busy ? std::next(it) : connections_.erase(it);
}

}  // namespace unmask::serve
