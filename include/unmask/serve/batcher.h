// Continuous batching for `unmask serve`: every running request denoises in
// its own thread with its own sampler, steps, seeds and settings, and sends
// each network call here (SampleRequest::network). One thread runs the model:
// it waits until every member request is waiting on a call (or the oldest
// call has waited `gather`), stacks the calls that share a canvas length into
// one forward of at most `max_rows` rows, and hands each request its rows. A
// request joins at its first call and leaves after its last, so new requests
// join the running batch at the next step boundary and finished ones leave at
// once. Each row's result depends only on that row (the forward is row-wise),
// which the serve tests check bitwise on the CPU.
// With `pad_lengths`, calls of different canvas lengths stack too: the
// shorter canvases are padded at the end to the longest, and the key mask
// (true at real positions) keeps the padding out of every real position's
// attention. A row's log-probabilities then equal its unpadded ones up to
// float rounding, not bitwise (the kernels see other shapes).
#pragma once

#include <ATen/core/Tensor.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace unmask::serve {

// Thrown from a member's call when its request was cancelled (client gone,
// drain timeout): the sampler unwinds and the request leaves the batch.
struct Cancelled : std::exception {
  const char* what() const noexcept override { return "the request was cancelled"; }
};

class NetworkBatcher {
 public:
  // (B, L) canvas, (B, …) time condition (undefined: none), (B, L) bool key
  // mask, true at real positions (undefined: no padding) → (B, L, V) log-probabilities.
  using Forward = std::function<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&)>;
  // Receives the row count of every batched forward, its calls, and the
  // padding positions it computed (rows × longest length − real positions).
  using OnBatch = std::function<void(std::int64_t rows, std::int64_t calls, std::int64_t padding)>;
  NetworkBatcher(Forward forward, std::int64_t max_rows, std::chrono::microseconds gather, OnBatch on_batch = nullptr,
                 bool pad_lengths = false);
  ~NetworkBatcher();
  NetworkBatcher(const NetworkBatcher&) = delete;
  NetworkBatcher& operator=(const NetworkBatcher&) = delete;

  // A request in the batch for its lifetime (RAII).
  class Member {
   public:
    Member(NetworkBatcher& batcher, const std::atomic<bool>* cancel);
    ~Member();
    Member(const Member&) = delete;
    Member& operator=(const Member&) = delete;
    // One network call of this request, answered from the next batched forward.
    at::Tensor call(const at::Tensor& x, const at::Tensor& cond);

   private:
    NetworkBatcher& b_;
    const std::atomic<bool>* cancel_;
  };

 private:
  struct Call {
    at::Tensor x, cond;
    std::promise<at::Tensor> result;
    std::chrono::steady_clock::time_point since;
  };
  void loop();
  // Takes the calls of the next forward out of pending_ (lock held).
  std::vector<Call*> take_batch();
  // Runs one forward for `batch` and answers each call with its rows.
  void run_batch(const std::vector<Call*>& batch);

  Forward forward_;
  std::int64_t max_rows_;
  std::chrono::microseconds gather_;
  OnBatch on_batch_;
  bool pad_lengths_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Call*> pending_;
  std::int64_t members_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace unmask::serve
