// NetworkBatcher: one model thread serving the network calls of every
// running request (batcher.h).
#include "unmask/serve/batcher.h"

#include <torch/torch.h>

namespace unmask::serve {

NetworkBatcher::NetworkBatcher(Forward forward, std::int64_t max_rows, std::chrono::microseconds gather,
                               OnBatch on_batch, bool pad_lengths)
    : forward_(std::move(forward)), max_rows_(max_rows), gather_(gather), on_batch_(std::move(on_batch)),
      pad_lengths_(pad_lengths), thread_([this] { loop(); }) {}

NetworkBatcher::~NetworkBatcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

NetworkBatcher::Member::Member(NetworkBatcher& batcher, const std::atomic<bool>* cancel) : b_(batcher), cancel_(cancel) {
  std::lock_guard<std::mutex> lock(b_.mu_);
  ++b_.members_;
}

NetworkBatcher::Member::~Member() {
  {
    std::lock_guard<std::mutex> lock(b_.mu_);
    --b_.members_;
  }
  b_.cv_.notify_all();  // the others may all be waiting now
}

at::Tensor NetworkBatcher::Member::call(const at::Tensor& x, const at::Tensor& cond) {
  if (cancel_ && cancel_->load()) throw Cancelled();
  Call c{x, cond, {}, std::chrono::steady_clock::now()};
  std::future<at::Tensor> result = c.result.get_future();
  {
    std::lock_guard<std::mutex> lock(b_.mu_);
    if (b_.stop_) throw Cancelled();
    b_.pending_.push_back(&c);
  }
  b_.cv_.notify_all();
  at::Tensor lp = result.get();  // rethrows the forward's error
  if (cancel_ && cancel_->load()) throw Cancelled();
  return lp;
}

std::vector<NetworkBatcher::Call*> NetworkBatcher::take_batch() {
  // The oldest call, and every later one that stacks with it (same canvas
  // length, or any with pad_lengths_; same condition shape), first come
  // first served, up to max_rows_.
  Call* first = pending_.front();
  auto stacks = [this, first](const Call* c) {
    if (pad_lengths_ ? c->x.dim() != first->x.dim() : c->x.sizes().slice(1) != first->x.sizes().slice(1)) return false;
    if (c->cond.defined() != first->cond.defined()) return false;
    return !c->cond.defined() ||
           (c->cond.sizes().slice(1) == first->cond.sizes().slice(1) && c->cond.dtype() == first->cond.dtype());
  };
  std::vector<Call*> batch;
  std::int64_t rows = 0;
  for (auto it = pending_.begin(); it != pending_.end();) {
    Call* c = *it;
    if (stacks(c) && (batch.empty() || rows + c->x.size(0) <= max_rows_)) {
      batch.push_back(c);
      rows += c->x.size(0);
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  return batch;
}

void NetworkBatcher::run_batch(const std::vector<Call*>& batch) {
  std::int64_t longest = 0, real = 0, rows = 0;
  for (const Call* c : batch) {
    longest = std::max(longest, c->x.size(1));
    real += c->x.size(0) * c->x.size(1);
    rows += c->x.size(0);
  }
  const bool padded = real < rows * longest;
  try {
    std::vector<at::Tensor> xs, conds, keep;
    for (const Call* c : batch) {
      const std::int64_t pad = longest - c->x.size(1);
      xs.push_back(pad > 0 ? at::constant_pad_nd(c->x, {0, pad}, 0) : c->x);  // (b, longest)
      if (padded) {
        const at::Tensor real_positions = torch::ones({c->x.size(0), c->x.size(1)}, c->x.options().dtype(torch::kBool));
        keep.push_back(pad > 0 ? at::constant_pad_nd(real_positions, {0, pad}, 0) : real_positions);  // (b, longest)
      }
      if (c->cond.defined()) conds.push_back(c->cond);
    }
    const at::Tensor x = batch.size() == 1 ? xs[0] : torch::cat(xs);                                         // (B, L)
    const at::Tensor cond = conds.empty() ? at::Tensor() : batch.size() == 1 ? conds[0] : torch::cat(conds);  // (B, …)
    const at::Tensor key_mask = padded ? torch::cat(keep) : at::Tensor();                                    // (B, L)
    const at::Tensor lp = forward_(x, cond, key_mask);                                                       // (B, L, V)
    if (on_batch_) on_batch_(rows, static_cast<std::int64_t>(batch.size()), rows * longest - real);
    std::int64_t offset = 0;
    for (Call* c : batch) {
      const std::int64_t n = c->x.size(0), length = c->x.size(1);
      const at::Tensor mine = lp.narrow(0, offset, n);  // (n, longest, V)
      c->result.set_value(length < longest ? mine.narrow(1, 0, length).contiguous() : mine);
      offset += n;
    }
  } catch (...) {
    for (Call* c : batch) c->result.set_exception(std::current_exception());
  }
}

void NetworkBatcher::loop() {
  torch::NoGradGuard no_grad;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    // Run when every member waits on a call, or the oldest call has waited long enough.
    cv_.wait(lock, [this] { return stop_ || !pending_.empty(); });
    if (stop_) break;
    while (!stop_ && !pending_.empty() && static_cast<std::int64_t>(pending_.size()) < members_) {
      if (cv_.wait_until(lock, pending_.front()->since + gather_) == std::cv_status::timeout) break;
    }
    if (stop_) break;
    if (pending_.empty()) continue;
    std::vector<Call*> batch = take_batch();
    lock.unlock();
    run_batch(batch);
    lock.lock();
  }
  for (Call* c : pending_) c->result.set_exception(std::make_exception_ptr(Cancelled()));
  pending_.clear();
}

}  // namespace unmask::serve
