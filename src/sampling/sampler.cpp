// `run_sampler`: validates a request against what its sampler supports, lays
// out the canvas (BOS, prompts, [MASK]), builds one random stream per sample
// and runs the registered strategy on the whole canvas, or inside each block
// of a bd3lm model; AR decodes left to right.
#include "unmask/sampling/sampler.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>

#include "block_cache.h"
#include "block_sampler.h"
#include "cuda_graph.h"
#include "strategies.h"
#include "unmask/diffusion/masking.h"
#include "unmask/util/autocast.h"
#include "unmask/util/error.h"
#include "unmask/util/hash.h"

namespace unmask {
namespace {

std::uint64_t stream_seed(std::uint64_t seed, std::int64_t index) {
  return splitmix64(splitmix64(seed) ^ static_cast<std::uint64_t>(index));
}

const std::vector<int>& prompt_of(const SampleRequest& r, std::int64_t i) {
  return r.prompts.empty() ? r.prompt : r.prompts[static_cast<std::size_t>(i) % r.prompts.size()];
}

// (N, L) canvas: BOS, each sample's prompt, then [MASK].
at::Tensor canvas(const SampleRequest& r, const SpecialTokens& special, const torch::Device& device) {
  at::Tensor x = torch::full({r.num, r.length}, special.mask, torch::kLong);
  auto* p = x.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < r.num; ++i) {
    if (!r.mask_bos) p[i * r.length] = special.bos;
    const auto& prompt = prompt_of(r, i);
    for (std::size_t j = 0; j < prompt.size(); ++j) p[i * r.length + 1 + static_cast<std::int64_t>(j)] = prompt[j];
  }
  return x.to(device);
}

// (N, L) bool: EOS tokens the decoder produced (not the prompt's).
at::Tensor generated_eos(const at::Tensor& x, const at::Tensor& fixed, const SpecialTokens& special) {
  return (x == special.eos).logical_and(fixed.logical_not());
}

// Left to right: position `pos` takes the prompt's token when it has one,
// else a draw from p(x_pos | x_<pos) keyed by (sample, pos). Whether every
// sample has produced EOS is read back every `check_every` positions.
void autoregressive(BackboneImpl& model, const SpecialTokens& special, const SampleRequest& r,
                    const TokenPicker& picker, const CounterRng& rng, std::int64_t check_every, at::Tensor& x,
                    SampleResult& out) {
  std::size_t shortest = prompt_of(r, 0).size();
  for (std::int64_t i = 1; i < r.num; ++i) shortest = std::min(shortest, prompt_of(r, i).size());
  const at::Tensor fixed = x != special.mask;  // (N, L)
  const auto first = static_cast<std::int64_t>(shortest) + 1;
  // With a KV cache each position costs one token's forward: the cache holds
  // positions 0..pos−2 and the call adds pos−1 (prefilled up to first−2).
  const bool cached = r.kv_cache && model.has_kv_cache();
  KvCache cache;
  cache.reset(model.options().model.layers);
  if (cached && first > 1) {
    model.forward_cached(x.narrow(1, 0, first - 1), at::Tensor(), cache, true, true);
    out.positions_computed += first - 1;
  }
  for (std::int64_t pos = first; pos < r.length; ++pos) {
    const auto start = std::chrono::steady_clock::now();
    at::Tensor logits;
    {
      RECORD_USER_SCOPE("unmask::network");
      const at::Tensor last = cached ? model.forward_cached(x.narrow(1, pos - 1, 1), at::Tensor(), cache, true, true)
                                           .select(1, 0)
                                     : model.forward(x.narrow(1, 0, pos), at::Tensor(), at::Tensor()).select(1, pos - 1);
      logits = log_probs_without_mask(last, special.mask);  // (N, V) next-token log-probabilities
    }
    out.network_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ++out.network_calls;
    out.positions_computed += cached ? 1 : pos;
    const at::Tensor drawn = picker.draw(logits, rng.uniform(draw_site(0, pos, 0), 1).squeeze(1));  // (N)
    x.select(1, pos).copy_(torch::where(fixed.select(1, pos), x.select(1, pos), drawn));
    if (r.on_step) r.on_step(x.narrow(1, 0, pos + 1));
    if (r.stop_at_eos && ((pos - first + 1) % check_every == 0 || pos + 1 == r.length) &&
        generated_eos(x, fixed, special).narrow(1, 0, pos + 1).any(1).all().item<bool>())
      break;
  }
  if (r.stop_at_eos) {
    // After a sample's first generated EOS comes padding, as if it had stopped
    // there, whichever step the check noticed it (and whatever the batch).
    const at::Tensor eos = generated_eos(x, fixed, special).to(torch::kLong);  // (N, L)
    x.masked_fill_((eos.cumsum(1) - eos).gt(0).logical_and(fixed.logical_not()), special.pad);
  }
}

void validate(const SampleRequest& r, bool causal, bool blocks, std::int64_t mask) {
  const SamplerSpec& spec = sampler_spec(r.sampler);
  if (r.confidence != "maxprob" && r.confidence != "margin" && r.confidence != "entropy")
    throw Error("unknown confidence '" + r.confidence + "' (valid: maxprob, margin, entropy)");
  if (r.k_schedule != "linear" && r.k_schedule != "cosine")
    throw Error("unknown confidence schedule '" + r.k_schedule + "' (valid: linear, cosine)");
  if (!sampler_spec(r.inner).has(kInsideSemiAr))
    throw Error("unknown inner sampler '" + std::string(sampler_name(r.inner)) + "' for semi_ar (valid: " +
                sampler_list(kInsideSemiAr) + ")");
  if (r.filter != "x0" && r.filter != "reverse")
    throw Error("unknown filter '" + r.filter + "' (valid: x0, reverse)");
  const SamplerSpec& drawing = spec.has(kRunsInner) ? sampler_spec(r.inner) : spec;  // the one that draws tokens
  if (r.filter == "reverse" && (causal || !drawing.has(kReverseFilter)))
    throw Error("--filter reverse draws from the ancestral reverse step: use --sampler " + sampler_list(kReverseFilter, ", ") +
                " or " + sampler_list(kRunsInner) + " with --inner " + sampler_list(kInsideSemiAr | kReverseFilter) +
                " (got " + (causal ? std::string("an ar checkpoint") : "--sampler " + std::string(spec.name)) + ")");
  if (r.unmask != "schedule" && r.unmask != "threshold" && r.unmask != "factor")
    throw Error("unknown --unmask '" + r.unmask + "' (valid: schedule, threshold, factor)");
  if (r.unmask != "schedule") {
    if (!drawing.has(kParallelUnmask))
      throw Error("--unmask " + r.unmask + " reveals every confident position: use --sampler " +
                  sampler_list(kParallelUnmask, " or ") + " (also as semi_ar's --inner, or in bd3lm blocks), got " +
                  "--sampler " + spec.name + (spec.has(kRunsInner) ? " --inner " + std::string(sampler_name(r.inner)) : ""));
    if (r.unmask == "threshold" && !(r.threshold > 0 && r.threshold <= 1))
      throw Error("--threshold must lie in (0, 1], got " + std::to_string(r.threshold));
    if (r.unmask == "factor" && !(r.factor > 0))
      throw Error("--factor must be positive, got " + std::to_string(r.factor));
    if (r.remask) throw Error("--remask re-scores revealed tokens on a schedule: use it with --unmask schedule");
    if (r.confidence != "maxprob")
      throw Error("--unmask " + r.unmask + " compares p(x̂) with its bar: use --confidence maxprob (got " +
                  r.confidence + ")");
  }
  if (r.remdm != "cap" && r.remdm != "rescale" && r.remdm != "conf" && r.remdm != "loop")
    throw Error("unknown --remdm '" + r.remdm + "' (valid: cap, rescale, conf, loop)");
  if (!(r.t_off >= 0 && r.t_off < r.t_on && r.t_on <= 1 && r.alpha_on > 0 && r.alpha_on < 1))
    throw Error("remdm loop needs 0 <= t_off < t_on <= 1 and 0 < alpha_on < 1");
  if (r.cache != "none" && r.cache != "prefix" && r.cache != "dual")
    throw Error("unknown --cache '" + r.cache + "' (valid: none, prefix, dual)");
  if (r.cache != "none") {
    if (!spec.has(kBlockCache))
      throw Error("--cache " + r.cache + " keeps the keys/values outside a block: use --sampler " +
                  sampler_list(kBlockCache, " or ") + " (got --sampler " + spec.name + ")");
    if (causal) throw Error("--cache " + r.cache + " is for bidirectional models: an ar checkpoint keeps its exact KV cache");
    if (blocks)
      throw Error("--cache " + r.cache + " is for bidirectional models: a bd3lm checkpoint keeps its exact block cache");
    if (r.cuda_graph) throw Error("--cuda-graph does not apply with --cache " + r.cache + ": its calls change shape");
  }
  if (r.cache_refresh < 0) throw Error("--cache-refresh must be 0 (block start only) or more, got " + std::to_string(r.cache_refresh));
  if (r.semi_ar_style != "llada" && r.semi_ar_style != "mdlm")
    throw Error("unknown semi_ar style '" + r.semi_ar_style + "' (valid: llada, mdlm)");
  if (r.mask_bos && causal) throw Error("an ar checkpoint decodes after BOS: --mask-bos applies to diffusion models");
  if (r.steps < 1) throw Error("steps must be at least 1, got " + std::to_string(r.steps));
  if (r.num < 1) throw Error("the number of samples must be at least 1");
  if (r.block_size < 1) throw Error("the semi_ar block size must be at least 1");
  for (std::int64_t i = 0; i < std::max<std::int64_t>(1, static_cast<std::int64_t>(r.prompts.size())); ++i) {
    const auto& prompt = prompt_of(r, i);
    // A template with [MASK:n] spans may fill the canvas: its spans are what is generated.
    const bool spans = std::find(prompt.begin(), prompt.end(), mask) != prompt.end();
    if (static_cast<std::int64_t>(prompt.size()) + (spans ? 1 : 2) > r.length)
      throw Error("a prompt of " + std::to_string(prompt.size()) + " tokens does not fit in length " +
                  std::to_string(r.length) + " (BOS + prompt + at least one token; use a larger --length)");
  }
  if (r.context > 0 && r.length > r.context && !blocks && (causal || !spec.has(kSlidesWindow)))
    throw Error("length " + std::to_string(r.length) + " exceeds the model's context of " + std::to_string(r.context) +
                " positions; " + (causal ? "an ar model cannot decode past it" :
                                           "--sampler " + sampler_list(kSlidesWindow, " or ") + " slides a window over longer text"));
}

}  // namespace

void check_sample_request(const SampleRequest& request, const Objective& objective, const SpecialTokens& special) {
  validate(request, objective.causal(), objective.block_size() > 0, special.mask);
  const SamplerSpec& spec = sampler_spec(request.sampler);
  if (objective.block_size() > 0 && !spec.has(kInBlocks))
    throw Error("a bd3lm checkpoint samples block by block with " + sampler_list(kInBlocks, ", ") +
                " inside each block (got --sampler " + spec.name + ")");
  if (objective.block_size() > 0 && request.cuda_graph)
    throw Error("--cuda-graph does not apply to a bd3lm checkpoint: its calls change shape as the KV cache grows");
}

bool uses_network_hook(const SampleRequest& request, const Objective& objective) {
  return !objective.causal() && objective.block_size() == 0 && request.cache == "none" && !request.cuda_graph;
}

SampleResult run_sampler(BackboneImpl& model, const Objective& objective, const SpecialTokens& special,
                         const SampleRequest& request) {
  check_sample_request(request, objective, special);
  const SamplerSpec& spec = sampler_spec(request.sampler);
  torch::NoGradGuard no_grad;
  const torch::Device device = model.parameters().front().device();
  if (request.cuda_graph && !device.is_cuda()) throw Error("CUDA-graph capture needs the model on a CUDA device");
  const AutocastGuard autocast(device.type(), request.autocast_bf16 && device.is_cuda());
  SampleResult out;
  for (std::int64_t i = 0; i < request.num; ++i)
    out.seeds.push_back(stream_seed(request.seed, request.first_index + i));
  // The order of unmasking: every step's canvas (or AR prefix) passes the
  // tracker, which stamps each position with the step that gave it its final
  // token (0: fixed from the start). One comparison per step, on the device.
  SampleRequest r = request;
  at::Tensor x = canvas(r, special, device);          // (N, L)
  const at::Tensor generated = x == special.mask;     // (N, L) positions to fill
  at::Tensor reveal = torch::zeros_like(x);           // (N, L) int64
  at::Tensor was_masked = generated.clone();
  std::int64_t step = 0;
  r.on_step = [&](const at::Tensor& now) {
    const std::int64_t n = now.size(1);
    const at::Tensor masked_now = now == special.mask;
    at::Tensor prev = was_masked.narrow(1, 0, n);
    at::Tensor stamp = reveal.narrow(1, 0, n);
    ++step;
    stamp.masked_fill_(prev.logical_and(masked_now.logical_not()), step);
    stamp.masked_fill_(masked_now, 0);  // re-masked (confidence --remask)
    prev.copy_(masked_now);
    if (request.on_step) request.on_step(now);
  };
  auto finish = [&] {
    out.ids = x.cpu();
    // What the final greedy denoise (or nothing) filled after the last step.
    reveal.masked_fill_(generated.logical_and(reveal == 0), step + 1);
    out.reveal_step = reveal.cpu();
  };
  const TokenPicker picker(r.picker);
  const CounterRng rng(out.seeds, device);
  // Host read-backs: free on the CPU, a pipeline stall on CUDA.
  const std::int64_t check_every = r.check_every > 0 ? r.check_every : (device.is_cpu() ? 1 : 8);
  if (objective.causal()) {
    autoregressive(model, special, r, picker, rng, check_every, x, out);
    finish();
    return out;
  }
  const auto linear = make_schedule([] {
    DiffusionConfig c;
    c.schedule = "linear";
    return c;
  }());
  const NoiseSchedule& schedule = objective.schedule() ? *objective.schedule() : *linear;

  // The network: (N, L) canvas and (N) times → (N, L, V) log p(x0 | x_t).
  auto forward = [&model, &special, &out, &request](const at::Tensor& xt, const at::Tensor& cond) {
    out.positions_computed += xt.size(1);
    if (request.network) return request.network(xt, cond);
    return log_probs_without_mask_consuming(model.forward(xt, cond, at::Tensor()), special.mask);
  };
  // --cuda-graph: a strategy whose step is one fixed sequence of device
  // operations replays the whole step; the others (cached, semi_ar) replay
  // the denoiser call.
  const bool whole_steps = r.cuda_graph && spec.has(kWholeStepGraph);
  std::unique_ptr<sampling::CudaGraphed> graphed;
  if (r.cuda_graph && !whole_steps)
    graphed = std::make_unique<sampling::CudaGraphed>(
        [&forward](const std::vector<at::Tensor>& in) { return std::vector<at::Tensor>{forward(in[0], in[1])}; });
  sampling::Denoiser d{objective, schedule, special, r, picker, rng, out, r.dense_draws || !device.is_cpu(), check_every};
  d.graph_steps = whole_steps;
  d.time_independent = model.options().model.time_conditioning == "none";
  d.context = r.context;
  d.draw_floor = sampling::min_draw_budget(device);
  d.network = [&](const at::Tensor& xt, const at::Tensor& t) {
    const at::Tensor cond = objective.time_condition(t).to(device);
    return graphed ? (*graphed)({xt, cond})[0] : forward(xt, cond);
  };
  d.notify = [&](const at::Tensor& canvas_now) {
    if (r.on_step) r.on_step(canvas_now);
  };
  std::unique_ptr<sampling::BlockCache> block_cache;
  if (r.cache != "none") {
    if (!model.has_kv_cache()) throw Error("--cache " + r.cache + ": this backbone has no key/value cache");
    block_cache = std::make_unique<sampling::BlockCache>(model, objective, special.mask, r, out);
    d.block_cache = block_cache.get();
  }

  if (objective.block_size() > 0) {
    const std::int64_t context = r.context > 0 ? std::min(r.context, r.length) : r.length;
    const std::int64_t bs = objective.block_size();
    sampling::block_diffusion(model, d, x, bs, std::max(bs, context - context % bs), r.kv_cache && model.has_kv_cache());
  } else {
    sampling::strategy(r.sampler).denoise(d, x, at::Tensor(), r.steps);
  }
  finish();
  return out;
}

std::string decode_sample(const Tokenizer& tokenizer, const at::Tensor& row, bool cut_at_eos,
                          std::int64_t keep_through) {
  std::string text;
  std::vector<int> ids;
  const auto* p = row.data_ptr<std::int64_t>();
  // Position 0 is BOS, unless it was generated (--mask-bos) as something else.
  for (std::int64_t i = row.numel() > 0 && p[0] != tokenizer.special().bos ? 0 : 1; i <= row.numel(); ++i) {
    if (i == row.numel() || p[i] == tokenizer.special().eos) {
      text += tokenizer.decode(ids);
      ids.clear();
      if (i == row.numel() || (cut_at_eos && i > keep_through)) break;
      if (i + 1 < row.numel()) text += " [EOS] ";
      continue;
    }
    ids.push_back(static_cast<int>(p[i]));
  }
  return text;
}

}  // namespace unmask
