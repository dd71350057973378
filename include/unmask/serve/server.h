// `unmask serve`: an OpenAI-compatible HTTP server (cpp-httplib) for a
// trained checkpoint: POST /v1/completions (JSON or SSE), GET /v1/models,
// /health and /metrics (docs/SERVING.md). Torch-free header: the CLI fills a
// ServeRequest and the torch module runs it.
#pragma once

#include <cstdint>
#include <string>

namespace unmask {

struct ServeRequest {
  std::string checkpoint;          // run dir (its latest) or checkpoint dir
  std::string device = "auto";
  bool no_ema = false;
  std::string precision = "run";
  std::string host = "127.0.0.1";
  int port = 8000;                 // 0: any free port (printed)
  std::int64_t max_batch = 16;     // rows denoising at once; also the most choices (n × prompts) per request
  std::int64_t max_queue = 64;     // requests waiting for a slot before 429
  std::string api_key_file;        // "": no authentication
  std::string model_name;          // "": the run directory's name
  std::int64_t max_length = 0;     // semi_ar / bd3lm canvas limit (0: the model's context)
  double batch_wait_ms = 20;       // how long a call waits for the other running requests to join it
  bool pad_lengths = false;        // stack calls of different canvas lengths, padded (not bitwise: rounding)
  double drain_seconds = 30;       // SIGTERM: how long running requests may finish before they are cancelled
  std::int64_t max_body_bytes = 1 << 20;  // larger bodies get 413
  double read_timeout = 10;        // seconds a client may take to send its request (slow clients are closed)
  std::int64_t threads = 0;        // HTTP worker threads (0: max_batch + max_queue + 8)
};

// Serves until SIGTERM or SIGINT, then drains; returns the exit status (0).
int run_server(const ServeRequest& request);

}  // namespace unmask
