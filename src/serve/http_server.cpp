// `unmask serve` over HTTP (server.h) with cpp-httplib: routes, OpenAI's
// JSON and SSE formats, the bearer key, limits on bodies and slow clients,
// and the lifecycle (SIGTERM: stop accepting, drain, exit 0).
#include "unmask/serve/server.h"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "unmask/app/sampling_session.h"
#include "unmask/serve/completions.h"
#include "unmask/serve/metrics.h"
#include "unmask/serve/slow_clients.h"
#include "unmask/util/error.h"
#include "unmask/util/log.h"

namespace unmask {
namespace {

using json = nlohmann::ordered_json;
using serve::ApiError;

// JSON text; bytes that are not UTF-8 (a byte-fallback token cut in two, a
// body's garbage echoed in a message) become U+FFFD instead of an exception.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json error_json(const ApiError& e) {
  json err = {{"message", e.what()}, {"type", e.type}, {"param", nullptr}, {"code", nullptr}};
  if (!e.param.empty()) err["param"] = e.param;
  if (!e.code.empty()) err["code"] = e.code;
  return json{{"error", err}};
}

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  if (e.status == 429) res.set_header("Retry-After", "1");
  res.set_content(dump(error_json(e)), "application/json");
}

std::string random_hex(std::size_t chars) {
  static thread_local std::mt19937_64 gen(std::random_device{}());
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < chars; ++i) s += digits[gen() & 15];
  return s;
}

// The key in `file`, surrounding whitespace dropped (never logged).
std::string read_api_key(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw Error("--api-key-file " + file + ": cannot be read (a file holding the bearer key)");
  std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto first = key.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) throw Error("--api-key-file " + file + ": is empty (it must hold the bearer key)");
  key = key.substr(first, key.find_last_not_of(" \t\r\n") - first + 1);
  if (key.find_first_of(" \t\r\n") != std::string::npos)
    throw Error("--api-key-file " + file + ": the key must be one line without spaces");
  return key;
}

bool same_key(const std::string& a, const std::string& b) {  // constant time in the sent key's length
  unsigned char diff = a.size() != b.size();
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % std::max<std::size_t>(1, b.size())]);
  return diff == 0;
}

std::string model_name_of(const std::string& checkpoint) {
  std::filesystem::path p = std::filesystem::path(checkpoint).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  if (p.filename().string().rfind("step-", 0) == 0 && p.parent_path().filename() == "checkpoints")
    p = p.parent_path().parent_path();
  return p.filename().string();
}

json choice_json(const std::string& text, std::int64_t index, const json& finish_reason) {
  return json{{"text", text}, {"index", index}, {"logprobs", nullptr}, {"finish_reason", finish_reason}};
}

json usage_json(const serve::Completion& c) {
  return json{{"prompt_tokens", c.prompt_tokens},
              {"completion_tokens", c.completion_tokens},
              {"total_tokens", c.prompt_tokens + c.completion_tokens}};
}

json unmask_json(const serve::Completion& c) {
  return json{{"seed", c.seed}, {"sampler", c.sampler}, {"steps", c.steps}, {"network_calls", c.network_calls},
              {"batched", c.batched}};
}

// The requests running now, so that a drain that runs out of time can cancel them.
class Running {
 public:
  void add(std::atomic<bool>* flag) {
    std::lock_guard<std::mutex> lock(mu_);
    flags_.insert(flag);
  }
  void remove(std::atomic<bool>* flag) {
    std::lock_guard<std::mutex> lock(mu_);
    flags_.erase(flag);
  }
  std::size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return flags_.size();
  }
  void cancel_all() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto* f : flags_) f->store(true);
  }

 private:
  std::mutex mu_;
  std::set<std::atomic<bool>*> flags_;
};

// One completion request from parsing to its last byte (shared with the stream provider).
struct Exchange {
  Exchange(Running& running) : running(running) { running.add(&cancel); }
  ~Exchange() {
    slot.reset();
    running.remove(&cancel);
  }
  Running& running;
  std::atomic<bool> cancel{false};
  std::atomic<bool> gone{false};  // a write to the client failed
  serve::CompletionRequest request;
  std::shared_ptr<serve::Completions::Job> job;
  std::shared_ptr<void> slot;
  std::string id = "cmpl-" + random_hex(24);
  std::int64_t created = static_cast<std::int64_t>(std::time(nullptr));
};

thread_local std::chrono::steady_clock::time_point request_start;

}  // namespace

int run_server(const ServeRequest& q) {
  if (q.max_batch < 1) throw Error("--max-batch must be at least 1, got " + std::to_string(q.max_batch));
  if (q.max_queue < 0) throw Error("--max-queue must be 0 or more, got " + std::to_string(q.max_queue));
  if (q.port < 0 || q.port > 65535) throw Error("--port must lie in [0, 65535], got " + std::to_string(q.port));
  if (!(q.drain_seconds >= 0)) throw Error("--drain-timeout must be 0 or more seconds");
  if (!(q.batch_wait_ms >= 0)) throw Error("--batch-wait-ms must be 0 or more");
  if (q.max_body_bytes < 1024) throw Error("--max-body-bytes must be at least 1024");
  const std::string key = q.api_key_file.empty() ? std::string() : read_api_key(q.api_key_file);
  // SIGTERM and SIGINT go to the signal thread only: every thread made from
  // here on (LibTorch's, the batcher's, the HTTP workers') inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a client gone mid-write is an error return, not a signal

  SamplingSession session(q.checkpoint, q.device, !q.no_ema, q.precision);
  serve::Metrics metrics;
  serve::CompletionsOptions options;
  options.model_name = q.model_name.empty() ? model_name_of(q.checkpoint) : q.model_name;
  options.max_batch = q.max_batch;
  options.max_queue = q.max_queue;
  options.max_length = q.max_length;
  options.gather = std::chrono::microseconds(static_cast<std::int64_t>(q.batch_wait_ms * 1000));
  options.pad_lengths = q.pad_lengths;
  serve::Completions completions(session, metrics, options);
  const std::string& name = options.model_name;
  const auto created = static_cast<std::int64_t>(std::time(nullptr));
  Running running;
  std::atomic<bool> draining{false};
  std::unique_ptr<serve::SlowClientGuard> slow;  // made once the port is known
  auto arrived = [&slow](const httplib::Request& req) {
    if (slow) slow->started(req.remote_addr, req.remote_port);
  };

  httplib::Server svr;
  const std::size_t threads =
      static_cast<std::size_t>(q.threads > 0 ? q.threads : q.max_batch + q.max_queue + 8);
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  svr.set_payload_max_length(static_cast<std::size_t>(q.max_body_bytes));
  svr.set_read_timeout(std::chrono::milliseconds(static_cast<std::int64_t>(q.read_timeout * 1000)));
  svr.set_write_timeout(std::chrono::seconds(30));
  svr.set_keep_alive_timeout(2);
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which lets a
  // second server bind a port that is already serving and share its clients.
  svr.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<void*>(&yes), sizeof(yes));
  });
  svr.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    request_start = std::chrono::steady_clock::now();
    return httplib::Server::HandlerResponse::Unhandled;
  });
  svr.set_logger([&metrics, &slow](const httplib::Request& req, const httplib::Response& res) {
    if (slow) slow->finished(req.remote_addr, req.remote_port);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - request_start).count();
    const bool known = req.path == "/v1/completions" || req.path == "/v1/models" || req.path == "/health" ||
                       req.path == "/metrics" || req.path.rfind("/v1/models/", 0) == 0;
    metrics.request(known ? (req.path.rfind("/v1/models/", 0) == 0 ? "/v1/models/{id}" : req.path) : "other",
                    res.status, seconds);
    char line[64];
    std::snprintf(line, sizeof line, " %d %.3f s", res.status, seconds);
    log::info(req.method + " " + req.path.substr(0, 128) + line);  // never the headers (the key)
  });
  svr.set_error_handler([&q, &arrived](const httplib::Request& req, httplib::Response& res) {
    arrived(req);
    if (!res.body.empty()) return;
    if (res.status == 404)
      send_error(res, ApiError(404, "no route " + req.method + " " + req.path.substr(0, 128) +
                                        " (valid: POST /v1/completions, GET /v1/models, GET /health, GET /metrics)"));
    else if (res.status == 413)
      send_error(res, ApiError(413, "the request body exceeds this server's limit of " +
                                        std::to_string(q.max_body_bytes) + " bytes (--max-body-bytes)"));
    else
      send_error(res, ApiError(res.status, "bad HTTP request (status " + std::to_string(res.status) + ")"));
  });
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr e) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      what = x.what();
    } catch (...) {
    }
    send_error(res, ApiError(500, what, "", "server_error"));
  });
  // The client closed its connection before its answer: nothing can be sent,
  // and the log and /metrics count 499 (nginx's "client closed request").
  auto client_left = [&metrics](httplib::Response& res) {
    metrics.abandoned();
    res.status = 499;
  };
  auto authorised = [&key, &arrived](const httplib::Request& req, httplib::Response& res) {
    arrived(req);  // every route asks first: the request has arrived whole
    if (key.empty()) return true;
    const std::string given = req.get_header_value("Authorization");
    if (given.rfind("Bearer ", 0) == 0 && same_key(given.substr(7), key)) return true;
    send_error(res, ApiError(401, "a valid API key is required: send the header 'Authorization: Bearer <key>'", "",
                             "invalid_request_error", "invalid_api_key"));
    return false;
  };

  svr.Get("/health", [&](const httplib::Request& req, httplib::Response& res) {
    arrived(req);
    res.status = draining ? 503 : 200;
    res.set_content(dump(json{{"status", draining ? "draining" : "ok"}, {"model", name}}), "application/json");
  });
  auto model_json = [&] { return json{{"id", name}, {"object", "model"}, {"created", created}, {"owned_by", "unmask"}}; };
  svr.Get("/v1/models", [&](const httplib::Request& req, httplib::Response& res) {
    if (!authorised(req, res)) return;
    res.set_content(dump(json{{"object", "list"}, {"data", json::array({model_json()})}}), "application/json");
  });
  svr.Get(R"(/v1/models/(.+))", [&](const httplib::Request& req, httplib::Response& res) {
    if (!authorised(req, res)) return;
    if (req.matches[1] != name)
      return send_error(res, ApiError(404, "the model '" + req.matches[1].str().substr(0, 64) +
                                               "' does not exist: this server serves '" + name + "'",
                                      "model", "invalid_request_error", "model_not_found"));
    res.set_content(dump(model_json()), "application/json");
  });
  svr.Get("/metrics", [&](const httplib::Request& req, httplib::Response& res) {
    if (!authorised(req, res)) return;
    res.set_content(metrics.prometheus(), "text/plain; version=0.0.4");
  });
  svr.Post("/v1/completions", [&](const httplib::Request& req, httplib::Response& res) {
    if (!authorised(req, res)) return;
    auto ex = std::make_shared<Exchange>(running);
    if (slow)  // a client that closes its connection cancels the request, queued or running
      slow->watch_close(req.remote_addr, req.remote_port, [weak = std::weak_ptr<Exchange>(ex)] {
        if (const auto e = weak.lock()) e->gone = e->cancel = true;
      });
    try {
      ex->request = serve::parse_completion_request(req.body, completions.limits());
      ex->job = completions.prepare(ex->request);
      ex->slot = completions.admit(*ex->job, ex->cancel);
    } catch (const ApiError& e) {
      return send_error(res, e);
    } catch (const serve::Cancelled&) {
      if (ex->gone) return client_left(res);
      return send_error(res, ApiError(503, "the server is shutting down", "", "server_error", "draining"));
    }
    auto chunk = [ex, &name](json choices) {
      return json{{"id", ex->id}, {"object", "text_completion"}, {"created", ex->created}, {"model", name},
                  {"choices", std::move(choices)}};
    };
    if (!ex->request.stream) {
      try {
        const serve::Completion c = completions.run(*ex->job, ex->cancel, nullptr);
        json choices = json::array();
        for (std::size_t i = 0; i < c.choices.size(); ++i)
          choices.push_back(choice_json(c.choices[i].text, static_cast<std::int64_t>(i), c.choices[i].finish_reason));
        json body = chunk(std::move(choices));
        body["usage"] = usage_json(c);
        body["unmask"] = unmask_json(c);
        res.set_content(dump(body), "application/json");
      } catch (const serve::Cancelled&) {
        if (ex->gone) return client_left(res);
        send_error(res, ApiError(503, "the request was cancelled: the server is shutting down", "", "server_error",
                                 "cancelled"));
      } catch (const ApiError& e) {
        send_error(res, e);
      } catch (const std::exception& e) {
        send_error(res, ApiError(500, e.what(), "", "server_error"));
      }
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [ex, chunk, &completions, &metrics](std::size_t, httplib::DataSink& sink) {
          auto send = [&](const std::string& s) {
            if (ex->gone) return false;
            if (!sink.write(s.data(), s.size())) ex->gone = ex->cancel = true;  // the client left: its rows stop
            return !ex->gone.load();
          };
          auto event = [&](const json& data) { return send("data: " + dump(data) + "\n\n"); };
          auto last = std::chrono::steady_clock::now();
          try {
            const serve::Completion c = completions.run(
                *ex->job, ex->cancel,
                [&](const serve::StepFrame& f) {
                  // A chunk with no choices (clients pass it through) carrying the step.
                  json frame = chunk(json::array());
                  frame["unmask_step"] = {{"index", f.index}, {"step", f.step}, {"text", f.text},
                                          {"masked", f.masked}, {"revealed", f.revealed}};
                  event(frame);
                },
                [&] {  // an SSE comment now and then: a write to a closed connection cancels the request
                  const auto now = std::chrono::steady_clock::now();
                  if (now - last < std::chrono::milliseconds(50)) return;
                  last = now;
                  send(": denoising\n\n");
                });
            for (std::size_t i = 0; i < c.choices.size(); ++i) {
              const auto index = static_cast<std::int64_t>(i);
              event(chunk(json::array({choice_json(c.choices[i].text, index, nullptr)})));
              event(chunk(json::array({choice_json("", index, c.choices[i].finish_reason)})));
            }
            if (ex->request.include_usage) {
              json last_chunk = chunk(json::array());
              last_chunk["usage"] = usage_json(c);
              event(last_chunk);
            }
          } catch (const serve::Cancelled&) {
            if (ex->gone) {
              metrics.abandoned();
              return false;
            }
            event(error_json(ApiError(503, "the request was cancelled: the server is shutting down", "",
                                        "server_error", "cancelled")));
          } catch (const ApiError& e) {
            event(error_json(e));
          } catch (const std::exception& e) {
            event(error_json(ApiError(500, e.what(), "", "server_error")));
          }
          send("data: [DONE]\n\n");
          sink.done();
          return true;
        },
        [ex](bool) { ex->slot.reset(); });
  });

  int port = q.port;
  if (port == 0) {
    port = svr.bind_to_any_port(q.host);
    if (port < 0) throw Error("cannot listen on " + q.host + " (any port): the address is not local or not valid");
  } else if (!svr.bind_to_port(q.host, port)) {
    throw Error("cannot listen on " + q.host + ":" + std::to_string(port) +
                ": the port is in use or the address is not local (use --port, or --port 0 for any free port)");
  }
  slow = std::make_unique<serve::SlowClientGuard>(
      port, std::chrono::milliseconds(static_cast<std::int64_t>(q.read_timeout * 1000)));
  std::atomic<bool> stopped{false};
  std::thread signal_thread([&] {
    const timespec poll{0, 200 * 1000 * 1000};
    int sig = -1;
    while (!stopped && (sig = sigtimedwait(&signals, nullptr, &poll)) < 0) {
    }
    if (stopped) return;
    log::info(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ": no new requests; " +
              std::to_string(running.size()) + " running may finish within " + std::to_string(q.drain_seconds) + " s");
    draining = true;
    completions.drain();
    svr.stop();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(q.drain_seconds);
    while (running.size() > 0 && std::chrono::steady_clock::now() < deadline && !stopped)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (running.size() > 0) {
      log::warn("drain timeout: cancelling " + std::to_string(running.size()) + " running requests");
      running.cancel_all();
    }
  });
  std::cout << "unmask serve: listening on http://" << q.host << ":" << port << " (model " << name << ")" << std::endl;
  log::info("serving " + name + " on http://" + q.host + ":" + std::to_string(port) + " (max batch " +
            std::to_string(q.max_batch) + ", queue " + std::to_string(q.max_queue) +
            (key.empty() ? ", no API key" : ", API key required") + ")");
  const bool ok = svr.listen_after_bind();
  stopped = true;
  signal_thread.join();
  if (!ok && !draining) throw Error("the server stopped unexpectedly while listening on port " + std::to_string(port));
  log::info("stopped");
  return 0;
}

}  // namespace unmask
