// `unmask serve`: flags → ServeRequest; the torch module serves until SIGTERM.
#include "commands.h"
#include "torch_commands.h"

namespace unmask::cli {

void add_serve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "serve", "Serve a checkpoint over an OpenAI-compatible HTTP API (completions, streaming, continuous batching)");
  auto r = std::make_shared<ServeRequest>();
  cmd->add_option("--checkpoint", r->checkpoint, "run directory (its latest checkpoint) or a checkpoint directory")
      ->required();
  cmd->add_option("--host", r->host,
                  "address to listen on; the default serves this machine only (0.0.0.0: every interface)")
      ->capture_default_str();
  cmd->add_option("--port", r->port, "TCP port (0: any free port, printed at start)")->capture_default_str();
  cmd->add_option("--max-batch", r->max_batch,
                  "rows (choices) denoising at once, batched into each network call; also the most choices "
                  "(n × prompts) one request may ask for")
      ->capture_default_str();
  cmd->add_option("--max-queue", r->max_queue, "requests waiting for a slot; beyond it 429 with Retry-After")
      ->capture_default_str();
  cmd->add_option("--api-key-file", r->api_key_file,
                  "file holding a bearer key: requests to /v1/* and /metrics without 'Authorization: Bearer <key>' "
                  "get 401 (the key is never logged)");
  cmd->add_option("--model-name", r->model_name, "the model id clients send and /v1/models lists (default: the run "
                                                 "directory's name)");
  cmd->add_option("--max-length", r->max_length,
                  "canvas positions (BOS + prompt + max_tokens) a semi_ar or bd3lm request may slide over (default: "
                  "the model's context, which bounds every other sampler)");
  cmd->add_option("--batch-wait-ms", r->batch_wait_ms,
                  "how long a network call waits for the other running requests to join its batch")
      ->capture_default_str();
  cmd->add_flag("--pad-lengths", r->pad_lengths,
                "also stack network calls of different canvas lengths into one forward, padding the shorter ones "
                "(key-masked): fuller batches when prompts and max_tokens vary; results then equal a request alone "
                "up to float rounding, not bit for bit");
  cmd->add_option("--drain-timeout", r->drain_seconds,
                  "seconds running requests may take to finish after SIGTERM before they are cancelled")
      ->capture_default_str();
  cmd->add_option("--max-body-bytes", r->max_body_bytes, "larger request bodies get 413")->capture_default_str();
  cmd->add_option("--read-timeout", r->read_timeout,
                  "seconds a client may take to send its request line, headers and body (slow clients are closed)")
      ->capture_default_str();
  cmd->add_option("--threads", r->threads, "HTTP worker threads (default: max-batch + max-queue + 8)");
  add_device_options(cmd, r->device, r->precision);
  cmd->add_flag("--no-ema", r->no_ema, "use the raw weights even when the checkpoint has EMA weights");
  on_run(cmd, [r] {
    const int status = torch_commands().serve(*r);
    if (status != 0) std::exit(status);
  });
}

}  // namespace unmask::cli
