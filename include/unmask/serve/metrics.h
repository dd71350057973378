// What `unmask serve` counts, rendered as Prometheus text for GET /metrics:
// requests by endpoint and status, the queue, the rows running, the batched
// network calls and their sizes, each request's own calls, tokens and
// tokens/s, the requests whose clients left, and the completion latency.
// Thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace unmask::serve {

class Metrics {
 public:
  Metrics();
  // An HTTP request answered (`seconds`: for the latency histogram of /v1/completions).
  void request(const std::string& path, int status, double seconds);
  // A batched forward of `rows` rows serving `calls` requests' calls, with
  // `padding` positions computed only to stack different lengths.
  void batch(std::int64_t rows, std::int64_t calls, std::int64_t padding = 0);
  // A completion finished: the network calls its own sampler made, and its generated tokens.
  void completion(std::int64_t request_calls, std::int64_t tokens);
  // A completion request cancelled because its client closed the connection.
  void abandoned();
  void queue(std::int64_t waiting, std::int64_t running_requests, std::int64_t running_rows);
  std::string prometheus() const;

  static constexpr std::array<double, 8> kRowBuckets = {1, 2, 4, 8, 16, 32, 64, 128};
  static constexpr std::array<double, 11> kLatencyBuckets = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};

 private:
  mutable std::mutex mu_;
  std::chrono::steady_clock::time_point start_;
  std::map<std::pair<std::string, int>, std::int64_t> requests_;
  std::array<std::int64_t, kRowBuckets.size()> row_counts_{};
  std::int64_t batches_ = 0, batch_rows_ = 0, batch_max_ = 0, batched_calls_ = 0, padding_ = 0;
  std::int64_t request_calls_ = 0, completions_ = 0, tokens_ = 0, abandoned_ = 0;
  std::array<std::int64_t, kLatencyBuckets.size()> latency_counts_{};
  std::int64_t latency_count_ = 0;
  double latency_sum_ = 0;
  std::int64_t waiting_ = 0, running_requests_ = 0, running_rows_ = 0;
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::int64_t>> recent_tokens_;  // last 10 s
};

}  // namespace unmask::serve
