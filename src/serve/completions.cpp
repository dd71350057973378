// The completions service (completions.h): request → sample requests →
// a slot → denoising with batched network calls → choices.
#include "unmask/serve/completions.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <optional>
#include <random>
#include <thread>

#include "unmask/diffusion/masking.h"
#include "unmask/sampling/request.h"
#include "unmask/util/autocast.h"
#include "unmask/util/error.h"

namespace unmask::serve {

struct Completions::Job {
  CompletionRequest request;
  std::uint64_t seed = 0;
  std::vector<SampleRequest> parts;           // one per prompt, n rows each
  std::vector<std::vector<int>> prompt_ids;   // per part: the prompt's ids (infill: the template's)
  std::int64_t rows = 0;
  bool batched = false;                       // the calls go through the batcher
};

// A place among the running rows, held for the request's lifetime.
class Completions::Slot {
 public:
  Slot(Completions& c, std::int64_t rows, const std::atomic<bool>& cancel) : c_(c), rows_(rows) {
    std::unique_lock<std::mutex> lock(c_.mu_);
    if (c_.draining_) throw ApiError(503, "the server is shutting down", "", "server_error", "draining");
    const bool fits_now = c_.waiting_ == 0 && c_.running_rows_ + rows <= c_.options_.max_batch;
    if (!fits_now && c_.waiting_ >= c_.options_.max_queue)
      throw ApiError(429, "the queue is full (" + std::to_string(c_.options_.max_queue) +
                              " requests waiting): retry later", "", "rate_limit_error", "queue_full");
    const std::uint64_t ticket = c_.next_ticket_++;
    ++c_.waiting_;
    publish();
    // A drain lets the queue run too (the requests were accepted); the
    // drain timeout cancels what is left.
    auto my_turn = [&] {
      return cancel.load() || (ticket == c_.serving_ticket_ && c_.running_rows_ + rows <= c_.options_.max_batch);
    };
    while (!my_turn()) c_.cv_.wait_for(lock, std::chrono::milliseconds(50));
    --c_.waiting_;
    // The next in line may look now. A request cancelled behind the head of
    // the queue leaves its ticket to be skipped when its turn comes.
    if (ticket == c_.serving_ticket_) {
      ++c_.serving_ticket_;
      while (c_.left_tickets_.erase(c_.serving_ticket_) > 0) ++c_.serving_ticket_;
    } else {
      c_.left_tickets_.insert(ticket);
    }
    const bool stop = cancel.load();
    if (!stop) {
      c_.running_rows_ += rows;
      ++c_.running_requests_;
    }
    publish();
    c_.cv_.notify_all();
    if (stop) throw Cancelled();
  }
  ~Slot() {
    {
      std::lock_guard<std::mutex> lock(c_.mu_);
      c_.running_rows_ -= rows_;
      --c_.running_requests_;
      publish();
    }
    c_.cv_.notify_all();
  }

 private:
  void publish() { c_.metrics_.queue(c_.waiting_, c_.running_requests_, c_.running_rows_); }
  Completions& c_;
  std::int64_t rows_;
};

namespace {

// The canvas as text, [MASK] where a position is still masked (BOS dropped).
std::string canvas_text(const Tokenizer& tok, const std::int64_t* ids, std::int64_t n) {
  std::string text;
  std::vector<int> run;
  auto flush = [&] {
    if (!run.empty()) text += tok.decode(run);
    run.clear();
  };
  for (std::int64_t i = 0; i < n; ++i) {
    if (i == 0 && ids[i] == tok.special().bos) continue;
    if (ids[i] == tok.special().mask) {
      flush();
      text += "[MASK]";
    } else {
      run.push_back(static_cast<int>(ids[i]));
    }
  }
  flush();
  return text;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

Completions::Completions(SamplingSession& session, Metrics& metrics, CompletionsOptions options)
    : session_(session), metrics_(metrics), options_(std::move(options)) {
  RunModel& m = session_.model();
  const bool bf16 = session_.request(SampleOverrides{}).autocast_bf16;
  const std::int64_t mask = session_.tokenizer().special().mask;
  batcher_ = std::make_unique<NetworkBatcher>(
      // (B, L), (B, …), (B, L) bool or undefined → (B, L, V)
      [this, &m, bf16, mask](const at::Tensor& x, const at::Tensor& cond, const at::Tensor& key_mask) {
        std::lock_guard<std::mutex> lock(model_mu_);
        const AutocastGuard autocast(m.device.type(), bf16 && m.device.is_cuda());
        return log_probs_without_mask_consuming(m.model->forward(x, cond, key_mask), mask);
      },
      options_.max_batch, options_.gather,
      [this](std::int64_t rows, std::int64_t calls, std::int64_t padding) { metrics_.batch(rows, calls, padding); },
      options_.pad_lengths);
}

Completions::~Completions() { batcher_.reset(); }

CompletionLimits Completions::limits() const {
  CompletionLimits l;
  l.max_n = options_.max_batch;
  return l;
}

void Completions::drain() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    draining_ = true;
  }
  cv_.notify_all();
}

std::shared_ptr<Completions::Job> Completions::prepare(const CompletionRequest& q) const {
  if (q.model && *q.model != options_.model_name)
    throw ApiError(404, "the model '" + q.model->substr(0, 64) + "' does not exist: this server serves '" +
                            options_.model_name + "'", "model", "invalid_request_error", "model_not_found");
  auto job = std::make_shared<Job>();
  job->request = q;
  job->seed = q.seed ? *q.seed : (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  SampleOverrides o;
  o.sampler = q.sampler;
  o.inner = q.inner;
  o.unmask = q.unmask;
  o.confidence = q.confidence;
  o.remdm = q.remdm;
  o.cache = q.cache;
  o.filter = q.filter;
  o.steps = q.steps;
  if (q.block_size) o.block_size = q.block_size;
  o.cache_refresh = q.cache_refresh;
  o.threshold = q.threshold;
  o.factor = q.factor;
  o.eta = q.eta;
  o.temperature = q.temperature;
  o.top_p = q.top_p;
  o.top_k = q.top_k;
  o.seed = job->seed;
  o.num = q.n;
  const Tokenizer& tok = session_.tokenizer();
  const Objective& objective = *session_.model().objective;
  SampleRequest base;
  try {
    base = session_.request(o);
  } catch (const Error& e) {
    throw ApiError(400, e.what());
  }
  const bool slides = (sampler_spec(base.sampler).has(kSlidesWindow) || objective.block_size() > 0) && !objective.causal();
  const std::int64_t context = base.context > 0 ? base.context : base.length;
  const std::int64_t limit = slides ? std::max(context, options_.max_length) : context;
  for (std::size_t p = 0; p < q.prompts.size(); ++p) {
    std::vector<int> ids;
    try {
      ids = q.infill ? encode_prompt_template(tok, q.prompts[p]) : tok.encode(q.prompts[p]);
    } catch (const Error& e) {
      throw ApiError(400, e.what(), "prompt");
    }
    if (q.infill && q.max_tokens == 0 && std::count(ids.begin(), ids.end(), tok.special().mask) == 0)
      throw ApiError(400, "an infill prompt with max_tokens 0 needs a [MASK:n] span to fill", "prompt");
    const auto prompt = static_cast<std::int64_t>(ids.size());
    const std::int64_t length = 1 + prompt + q.max_tokens;
    if (length > limit) {
      std::string message = "max_tokens " + std::to_string(q.max_tokens) + " with a prompt of " +
                            std::to_string(prompt) + " tokens needs " + std::to_string(length) +
                            " positions (BOS + prompt + max_tokens); the limit is " + std::to_string(limit);
      message += limit - 1 - prompt >= 1 ? ": use max_tokens <= " + std::to_string(limit - 1 - prompt)
                                         : ": the prompt alone fills it";
      if (!slides && !objective.causal())
        message += " (or \"sampler\": \"semi_ar\", which slides a window up to the server's --max-length " +
                   std::to_string(std::max(context, options_.max_length)) + ")";
      throw ApiError(400, message, "max_tokens");
    }
    SampleRequest part = base;
    part.num = q.n;
    part.length = length;
    part.prompt.clear();
    part.prompts = {ids};
    part.first_index = static_cast<std::int64_t>(p) * q.n;
    try {
      check_sample_request(part, objective, tok.special());
    } catch (const Error& e) {
      throw ApiError(400, e.what());
    }
    job->parts.push_back(std::move(part));
    job->prompt_ids.push_back(std::move(ids));
  }
  job->rows = static_cast<std::int64_t>(q.prompts.size()) * q.n;
  job->batched = uses_network_hook(base, objective);
  return job;
}

std::shared_ptr<void> Completions::admit(const Job& job, const std::atomic<bool>& cancel) {
  return std::make_shared<Slot>(*this, job.rows, cancel);
}

Completion Completions::run(Job& job, const std::atomic<bool>& cancel,
                            const std::function<void(const StepFrame&)>& on_frame,
                            const std::function<void()>& on_step) {
  const Tokenizer& tok = session_.tokenizer();
  const CompletionRequest& q = job.request;
  const std::size_t parts = job.parts.size();
  std::vector<SampleOutput> outputs(parts);
  std::vector<std::exception_ptr> errors(parts);
  std::mutex frame_mu;  // parts run in parallel; frames go out one at a time
  auto run_part = [&](std::size_t p) {
    try {
      SampleRequest r = job.parts[p];
      std::optional<NetworkBatcher::Member> member;
      if (job.batched) {
        member.emplace(*batcher_, &cancel);
        r.network = [&member](const at::Tensor& x, const at::Tensor& cond) { return member->call(x, cond); };
      }
      // (N, L) the canvas before the step, on the CPU: BOS, the prompt, [MASK].
      const std::int64_t mask = tok.special().mask;
      at::Tensor previous = torch::full({r.num, r.length}, mask, torch::kLong);
      if (!r.mask_bos) previous.select(1, 0).fill_(tok.special().bos);
      const auto& ids = job.prompt_ids[p];
      if (!ids.empty())
        previous.narrow(1, 1, static_cast<std::int64_t>(ids.size()))
            .copy_(torch::tensor(std::vector<std::int64_t>(ids.begin(), ids.end())).unsqueeze(0));
      std::int64_t step = 0;
      r.on_step = [&](const at::Tensor& canvas) {  // (N, length so far)
        if (cancel.load()) throw Cancelled();
        if (on_step) {
          std::lock_guard<std::mutex> lock(frame_mu);
          on_step();
        }
        if (cancel.load()) throw Cancelled();
        if (!q.stream_steps) return;
        const at::Tensor now = canvas.to(torch::kCPU).contiguous();
        at::Tensor before = previous.narrow(1, 0, now.size(1));
        const at::Tensor revealed = (before == mask).logical_and(now != mask);  // (N, w)
        ++step;
        std::lock_guard<std::mutex> lock(frame_mu);
        for (std::int64_t j = 0; j < now.size(0); ++j) {
          const at::Tensor row = now[j];
          StepFrame f;
          f.index = static_cast<std::int64_t>(p) * q.n + j;
          f.step = step;
          f.text = canvas_text(tok, row.data_ptr<std::int64_t>(), row.numel());
          f.masked = (row == mask).sum().item<std::int64_t>();
          const at::Tensor where = revealed[j].nonzero().flatten().contiguous();
          f.revealed.assign(where.data_ptr<std::int64_t>(), where.data_ptr<std::int64_t>() + where.numel());
          on_frame(f);
        }
        before.copy_(now);
      };
      const auto start = std::chrono::steady_clock::now();
      SampleResult result;
      if (job.batched) {
        result = session_.sample(r);
      } else {  // KV-cache paths call the model directly: one request at a time, between batched forwards
        std::lock_guard<std::mutex> lock(model_mu_);
        result = session_.sample(r);
      }
      outputs[p] = session_.rows(r, result, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    } catch (...) {
      errors[p] = std::current_exception();
    }
  };
  if (parts == 1) {
    run_part(0);
  } else {
    std::vector<std::thread> threads;
    for (std::size_t p = 0; p < parts; ++p) threads.emplace_back(run_part, p);
    for (auto& t : threads) t.join();
  }
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);

  Completion c;
  c.seed = job.seed;
  c.batched = job.batched;
  c.steps = job.parts.front().steps;
  c.sampler = sampler_name(job.parts.front().sampler);
  const bool pad_mode = session_.config().data.mode == "pad";
  for (std::size_t p = 0; p < parts; ++p) {
    const auto& ids = job.prompt_ids[p];
    c.prompt_tokens += static_cast<std::int64_t>(ids.size());
    c.network_calls += outputs[p].network_calls;
    const std::string prompt_text = q.infill ? std::string() : tok.decode(ids);
    for (const SampleRow& row : outputs[p].rows) {
      Choice choice;
      const auto fixed = static_cast<std::size_t>(1 + ids.size());
      if (q.infill || ids.empty()) {
        choice.text = row.text;
      } else if (starts_with(row.text, prompt_text)) {
        choice.text = row.text.substr(prompt_text.size());
      } else {  // the continuation decoded on its own
        std::vector<int> rest;
        for (std::size_t i = fixed; i < row.ids.size(); ++i)
          if (!(pad_mode && row.ids[i] == tok.special().eos)) rest.push_back(static_cast<int>(row.ids[i]));
        choice.text = tok.decode(rest);
      }
      for (const std::int64_t s : row.reveal_step) choice.tokens += s > 0 ? 1 : 0;
      const bool ended = pad_mode && row.ids.size() > fixed && row.ids.back() == tok.special().eos;
      choice.finish_reason = ended ? "stop" : "length";
      std::size_t cut = std::string::npos;
      for (const auto& s : q.stop) cut = std::min(cut, choice.text.find(s));
      if (cut != std::string::npos) {
        choice.text.resize(cut);
        choice.finish_reason = "stop";
      }
      c.completion_tokens += choice.tokens;
      c.choices.push_back(std::move(choice));
    }
  }
  metrics_.completion(c.network_calls, c.completion_tokens);
  return c;
}

}  // namespace unmask::serve
