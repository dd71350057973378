// `unmask sample`: a SamplingSession on the checkpoint, the command line's
// options as overrides of the run's `sample` section, one request, text rows.
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <fstream>

#include "unmask/app/sample.h"
#include "unmask/app/sampling_session.h"
#include "unmask/util/error.h"
#include "unmask/util/log.h"

namespace unmask {

namespace {

// The command line as overrides: unset (-1, "") options take the config's.
SampleOverrides overrides_of(const SampleCliRequest& q, const std::vector<std::string>& prompts) {
  SampleOverrides o;
  if (!q.sampler.empty()) o.sampler = q.sampler;
  if (q.num >= 0) o.num = q.num;
  else if (!q.prompt_file.empty()) o.num = static_cast<std::int64_t>(prompts.size());  // one sample per prompt line
  if (q.length >= 0) o.length = q.length;
  if (q.steps >= 0) o.steps = q.steps;
  if (q.temperature >= 0) o.temperature = q.temperature;
  if (q.top_k >= 0) o.top_k = q.top_k;
  if (q.top_p >= 0) o.top_p = q.top_p;
  o.draw = q.draw;
  if (!q.filter.empty()) o.filter = q.filter;
  if (q.seed >= 0) o.seed = static_cast<std::uint64_t>(q.seed);
  o.prompts = prompts;
  o.confidence = q.confidence;
  o.k_schedule = q.k_schedule;
  o.remask = q.remask;
  o.unmask = q.unmask;
  o.threshold = q.threshold;
  o.factor = q.factor;
  o.remdm = q.remdm;
  o.eta = q.eta;
  o.t_on = q.t_on;
  o.t_off = q.t_off;
  o.alpha_on = q.alpha_on;
  o.inner = q.inner;
  if (!q.semi_ar_style.empty()) o.semi_ar_style = q.semi_ar_style;
  if (q.mask_bos) o.mask_bos = true;
  o.block_size = q.block_size;
  o.kv_cache = !q.no_kv_cache;
  o.cache = q.cache;
  o.cache_refresh = q.cache_refresh;
  return o;
}

std::vector<std::string> prompt_texts(const SampleCliRequest& q) {
  if (!q.prompt.empty() && !q.prompt_file.empty()) throw Error("give --prompt or --prompt-file, not both");
  std::vector<std::string> texts;
  if (!q.prompt.empty()) texts.push_back(q.prompt);
  if (!q.prompt_file.empty()) {
    std::ifstream in(q.prompt_file);
    if (!in) throw Error("cannot read --prompt-file " + q.prompt_file);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) texts.push_back(line);
    if (texts.empty()) throw Error("--prompt-file " + q.prompt_file + " has no prompts (one per line)");
  }
  return texts;
}

// The first sample's canvas as text, still-masked positions shown as "_".
std::string canvas_text(const Tokenizer& tok, const at::Tensor& x) {
  const at::Tensor row = x[0].cpu().contiguous();  // (L)
  const std::int64_t* ids = row.data_ptr<std::int64_t>();
  std::string line;
  std::vector<int> run;
  auto flush = [&] {
    line += tok.decode(run);
    run.clear();
  };
  for (std::int64_t i = 1; i < row.numel(); ++i) {
    const int id = static_cast<int>(ids[i]);
    if (id == tok.special().mask) {
      flush();
      line += "_";
    } else {
      run.push_back(id);
    }
  }
  flush();
  for (char& c : line)
    if (c == '\n') c = ' ';
  return line;
}

}  // namespace

SampleOutput run_sampling(const SampleCliRequest& q) {
  if (q.deterministic) {
    // fp32, deterministic kernels, cuBLAS with a fixed workspace (set before
    // its first use): the same request on the same GPU gives the same tokens.
    // Not the same as batch invariance: kernels are still chosen by shape
    // (docs/SAMPLING.md, "What holds on a GPU").
    if (q.precision == "bf16") throw Error("--deterministic samples in fp32: drop --precision bf16");
    if (q.cuda_graph) throw Error("--deterministic and --cuda-graph do not go together: replay the eager kernels instead");
    setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
    at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/false);
    at::globalContext().setFloat32MatmulPrecision("highest");
  }
  SamplingSession session(q.checkpoint, q.device, !q.no_ema, q.deterministic ? "fp32" : q.precision);
  const std::vector<std::string> prompts = prompt_texts(q);
  SampleRequest r = session.request(overrides_of(q, prompts));
  r.cuda_graph = q.cuda_graph;
  if (q.on_step) {
    // The step counter lives in the callback itself, which outlives this block.
    const Tokenizer& tok = session.tokenizer();
    r.on_step = [&tok, cb = q.on_step, step = std::int64_t{0}](const at::Tensor& x) mutable {
      cb(++step, canvas_text(tok, x));
    };
  }
  const auto start = std::chrono::steady_clock::now();
  const SampleResult result = session.sample(r);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  SampleOutput out = session.rows(r, result, seconds, prompts);
  log::info("sampled " + std::to_string(r.num) + " x " + std::to_string(r.length) + " tokens with " + out.sampler +
            " in " + std::to_string(seconds) + " s, " + std::to_string(result.network_calls) + " network calls" +
            (sampler_spec(r.sampler).has(kSkipsCalls) ? " (" + std::to_string(result.calls_saved) + " saved by the cache)"
                                                      : "") +
            (out.ema ? " (EMA weights)" : ""));
  return out;
}

}  // namespace unmask
