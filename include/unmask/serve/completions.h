// The completions service behind POST /v1/completions: a CompletionRequest
// becomes one SampleRequest per prompt (n rows each, choice k drawing from
// the stream (seed, k), as `unmask sample --seed S` does), is checked before
// anything is answered, waits for a slot (at most --max-batch rows run, at
// most --max-queue requests wait, else 429), then denoises through the
// session, its network calls batched with every other running request's
// (batcher.h). Choices are texts with OpenAI's finish reasons.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "unmask/app/sampling_session.h"
#include "unmask/serve/batcher.h"
#include "unmask/serve/completion_request.h"
#include "unmask/serve/metrics.h"

namespace unmask::serve {

struct CompletionsOptions {
  std::string model_name;            // the id clients send as "model"
  std::int64_t max_batch = 16;       // rows denoising at once (and per forward)
  std::int64_t max_queue = 64;       // requests waiting for a slot before 429
  std::int64_t max_length = 0;       // canvas positions for semi_ar's sliding window (0: the model's context)
  std::chrono::microseconds gather{20000};  // how long a call waits for the other running requests
  bool pad_lengths = false;          // stack calls of different canvas lengths, padded and key-masked
};

// One denoising step of one choice, for "stream_steps" (docs/SERVING.md).
struct StepFrame {
  std::int64_t index = 0;            // the choice
  std::int64_t step = 0;             // 1, 2, … within the choice's request part
  std::string text;                  // the canvas after the step, [MASK] where still masked
  std::int64_t masked = 0;           // positions still masked
  std::vector<std::int64_t> revealed;  // positions this step revealed (canvas indices, BOS = 0)
};

struct Choice {
  std::string text;
  std::string finish_reason;         // stop (EOS or a stop sequence) | length
  std::int64_t tokens = 0;           // generated tokens kept in the text
};

struct Completion {
  std::vector<Choice> choices;       // in choice order (prompt-major, then n)
  std::uint64_t seed = 0;            // the request's seed (drawn when it gave none)
  std::int64_t prompt_tokens = 0, completion_tokens = 0;
  std::int64_t network_calls = 0;    // the calls the request's samplers made (shared with others when batched)
  std::int64_t steps = 0;
  std::string sampler;
  bool batched = false;              // its calls went through the batcher
};

class Completions {
 public:
  Completions(SamplingSession& session, Metrics& metrics, CompletionsOptions options);
  ~Completions();

  const CompletionsOptions& options() const { return options_; }
  CompletionLimits limits() const;

  // A request made runnable: its sample requests, checked (ApiError 400/404).
  struct Job;
  std::shared_ptr<Job> prepare(const CompletionRequest& request) const;
  // Waits for a slot for the job's rows (ApiError 429 when the queue is
  // full, 503 when draining; Cancelled when `cancel` is set while waiting);
  // the slot is held until the returned handle is released.
  std::shared_ptr<void> admit(const Job& job, const std::atomic<bool>& cancel);
  // Denoises an admitted job and returns the choices. `cancel` stops it at
  // the next step (Cancelled); `on_frame` receives the steps when the request
  // asked for them; `on_step` is called after every step of every part.
  Completion run(Job& job, const std::atomic<bool>& cancel, const std::function<void(const StepFrame&)>& on_frame,
                 const std::function<void()>& on_step = nullptr);

  // Stops admitting new requests (503); queued and running ones go on.
  void drain();

 private:
  class Slot;
  SamplingSession& session_;
  Metrics& metrics_;
  CompletionsOptions options_;
  std::unique_ptr<NetworkBatcher> batcher_;
  std::mutex model_mu_;  // the batcher's forwards and the unbatched (KV-cache) requests take turns
  std::mutex mu_;
  std::condition_variable cv_;
  std::int64_t running_rows_ = 0, running_requests_ = 0, waiting_ = 0;
  std::uint64_t next_ticket_ = 0, serving_ticket_ = 0;  // first come, first served
  std::set<std::uint64_t> left_tickets_;                 // cancelled while behind the head of the queue
  bool draining_ = false;
};

}  // namespace unmask::serve
