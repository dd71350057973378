// Metrics of `unmask serve` and their Prometheus text format (metrics.h).
#include "unmask/serve/metrics.h"

#include <algorithm>
#include <cstdio>

namespace unmask::serve {
namespace {

constexpr double kRateWindow = 10.0;  // seconds behind unmask_tokens_per_second

std::string num(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

// A metric with one unlabelled value.
void single(std::string& out, const char* name, const char* type, const char* help, const std::string& value) {
  header(out, name, type, help);
  out += std::string(name) + " " + value + "\n";
}

template <std::size_t K>
void histogram(std::string& out, const char* name, const std::array<double, K>& bounds,
               const std::array<std::int64_t, K>& counts, std::int64_t count, double sum) {
  std::int64_t cumulative = 0;
  for (std::size_t i = 0; i < K; ++i) {
    cumulative += counts[i];
    out += std::string(name) + "_bucket{le=\"" + num(bounds[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += std::string(name) + "_bucket{le=\"+Inf\"} " + std::to_string(count) + "\n";
  out += std::string(name) + "_sum " + num(sum) + "\n" + name + "_count " + std::to_string(count) + "\n";
}

}  // namespace

Metrics::Metrics() : start_(std::chrono::steady_clock::now()) {}

void Metrics::request(const std::string& path, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{path, status}];
  if (path != "/v1/completions" || status != 200) return;
  for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i)
    if (seconds <= kLatencyBuckets[i]) {
      ++latency_counts_[i];
      break;
    }
  ++latency_count_;
  latency_sum_ += seconds;
}

void Metrics::batch(std::int64_t rows, std::int64_t calls, std::int64_t padding) {
  std::lock_guard<std::mutex> lock(mu_);
  ++batches_;
  padding_ += padding;
  batch_rows_ += rows;
  batched_calls_ += calls;
  if (rows > batch_max_) batch_max_ = rows;
  for (std::size_t i = 0; i < kRowBuckets.size(); ++i)
    if (static_cast<double>(rows) <= kRowBuckets[i]) {
      ++row_counts_[i];
      break;
    }
}

void Metrics::abandoned() {
  std::lock_guard<std::mutex> lock(mu_);
  ++abandoned_;
}

void Metrics::completion(std::int64_t request_calls, std::int64_t tokens) {
  std::lock_guard<std::mutex> lock(mu_);
  ++completions_;
  request_calls_ += request_calls;
  tokens_ += tokens;
  const auto now = std::chrono::steady_clock::now();
  recent_tokens_.emplace_back(now, tokens);
  while (!recent_tokens_.empty() &&
         std::chrono::duration<double>(now - recent_tokens_.front().first).count() > kRateWindow)
    recent_tokens_.pop_front();
}

void Metrics::queue(std::int64_t waiting, std::int64_t running_requests, std::int64_t running_rows) {
  std::lock_guard<std::mutex> lock(mu_);
  waiting_ = waiting;
  running_requests_ = running_requests;
  running_rows_ = running_rows;
}

std::string Metrics::prometheus() const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  std::string out;
  header(out, "unmask_requests_total", "counter", "HTTP requests answered, by endpoint and status code.");
  for (const auto& [key, count] : requests_)
    out += "unmask_requests_total{path=\"" + key.first + "\",code=\"" + std::to_string(key.second) + "\"} " +
           std::to_string(count) + "\n";
  single(out, "unmask_queue_depth", "gauge", "Completion requests waiting for a slot.", std::to_string(waiting_));
  single(out, "unmask_requests_running", "gauge", "Completion requests denoising now.",
         std::to_string(running_requests_));
  single(out, "unmask_rows_running", "gauge", "Rows (choices) denoising now.", std::to_string(running_rows_));
  single(out, "unmask_network_calls_total", "counter", "Batched network calls (forwards of the model).",
         std::to_string(batches_));
  single(out, "unmask_batched_request_calls_total", "counter", "Requests' calls served by the batched forwards.",
         std::to_string(batched_calls_));
  single(out, "unmask_request_network_calls_total", "counter",
         "Network calls the finished requests' samplers made, each counted for its own request.",
         std::to_string(request_calls_));
  header(out, "unmask_batch_rows", "histogram", "Rows in each batched network call.");
  histogram(out, "unmask_batch_rows", kRowBuckets, row_counts_, batches_, static_cast<double>(batch_rows_));
  single(out, "unmask_batch_rows_max", "gauge", "The largest batched network call so far, in rows.",
         std::to_string(batch_max_));
  single(out, "unmask_padding_positions_total", "counter",
         "Canvas positions the batched forwards computed as padding only (--pad-lengths).", std::to_string(padding_));
  single(out, "unmask_completions_total", "counter", "Completion requests finished.", std::to_string(completions_));
  single(out, "unmask_requests_abandoned_total", "counter",
         "Completion requests cancelled because their client closed the connection.", std::to_string(abandoned_));
  single(out, "unmask_tokens_generated_total", "counter", "Tokens generated (completion tokens).",
         std::to_string(tokens_));
  std::int64_t recent = 0;
  for (const auto& [when, tokens] : recent_tokens_)
    if (std::chrono::duration<double>(now - when).count() <= kRateWindow) recent += tokens;
  const double window = std::min(kRateWindow, std::chrono::duration<double>(now - start_).count());
  single(out, "unmask_tokens_per_second", "gauge", "Tokens generated per second over the last 10 seconds.",
         num(window > 0 ? static_cast<double>(recent) / window : 0.0));
  header(out, "unmask_request_latency_seconds", "histogram", "Latency of successful completion requests.");
  histogram(out, "unmask_request_latency_seconds", kLatencyBuckets, latency_counts_, latency_count_, latency_sum_);
  return out;
}

}  // namespace unmask::serve
