// Ancestral unmasking (MDLM diffusion.py _ddpm_update: a masked position at t
// is revealed at s < t with probability (α_s − α_t)/(1 − α_t), its token drawn
// from p_θ(x0 | x_t) with [MASK] excluded), its cached variant
// (_ddpm_caching_update), and left-to-right AR decoding.
#include "unmask/sampling/sampler.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "unmask/diffusion/masking.h"
#include "unmask/util/error.h"
#include "unmask/util/hash.h"

namespace unmask {
namespace {

std::uint64_t stream_seed(std::uint64_t seed, std::int64_t index) {
  return splitmix64(splitmix64(seed) ^ static_cast<std::uint64_t>(index));
}

std::vector<at::Generator> streams(const SampleRequest& r) {
  std::vector<at::Generator> out;
  for (std::int64_t i = 0; i < r.num; ++i) out.push_back(at::detail::createCPUGenerator(stream_seed(r.seed, r.first_index + i)));
  return out;
}

// One token per row of `logits` (N, V), row i with stream i.
at::Tensor pick_rows(const TokenPicker& picker, const at::Tensor& logits, std::vector<at::Generator>& gens) {
  std::vector<at::Tensor> ids;
  for (std::int64_t i = 0; i < logits.size(0); ++i) ids.push_back(picker.pick(logits.narrow(0, i, 1), gens[i]));
  return torch::cat(ids).to(logits.device());
}

SampleResult autoregressive(BackboneImpl& model, const SpecialTokens& special, const SampleRequest& r,
                            const torch::Device& device) {
  const TokenPicker picker(r.picker);
  auto gens = streams(r);
  at::Tensor x = torch::full({r.num, 1}, special.bos, torch::TensorOptions().dtype(torch::kLong).device(device));
  if (!r.prompt.empty())
    x = torch::cat({x, torch::tensor(std::vector<std::int64_t>(r.prompt.begin(), r.prompt.end()), torch::kLong)
                           .to(device).unsqueeze(0).expand({r.num, -1})}, 1);
  SampleResult out;
  for (std::int64_t pos = x.size(1); pos < r.length; ++pos) {
    const at::Tensor logits = model.forward(x, at::Tensor(), at::Tensor()).select(1, pos - 1).to(torch::kFloat32);
    ++out.network_calls;
    x = torch::cat({x, pick_rows(picker, logits, gens).unsqueeze(1)}, 1);
    if (r.on_step) r.on_step(x);
  }
  out.ids = x.cpu();
  return out;
}

}  // namespace

// Zheng et al. 2024 (arXiv 2409.02908) first-hitting sampler. With n masked
// tokens at time t, each still masked w.p. m(s)/m(t) at s < t (m = 1 − α), the
// first of them is revealed when m(s) = m(t)·u^{1/n}; s is found by bisection,
// vectorised over the samples (it is t·u^{1/n} for linear and log-linear). The token is
// one masked position chosen uniformly, drawn from p_θ(x0 | x_t).
void first_hitting(BackboneImpl& model, const Objective& objective, const NoiseSchedule& schedule,
                   const SpecialTokens& special, const SampleRequest& r, const TokenPicker& picker,
                   std::vector<at::Generator>& gens, at::Tensor& x, SampleResult& out) {
  const torch::Device device = x.device();
  at::Tensor t = torch::ones({r.num}, torch::kFloat64);  // (N) current time of each sample
  out.times.assign(static_cast<std::size_t>(r.num), {});
  auto mask_prob = [&](const at::Tensor& v) { return 1.0 - schedule.alpha(v); };
  while ((x == special.mask).any().item<bool>()) {
    const at::Tensor counts = (x == special.mask).sum(1).cpu().to(torch::kFloat64);  // (N)
    std::vector<double> u(static_cast<std::size_t>(r.num), 1.0);
    for (std::int64_t i = 0; i < r.num; ++i)
      if (counts[i].item<double>() > 0)
        u[static_cast<std::size_t>(i)] = at::rand({1}, gens[i], torch::kFloat64).clamp_min(1e-300).item<double>();
    // Bisection for all samples at once: mask_prob(s) = mask_prob(t)·u^{1/n}.
    const at::Tensor target = mask_prob(t) * torch::pow(torch::tensor(u, torch::kFloat64), 1.0 / counts.clamp_min(1));
    at::Tensor lo = torch::zeros_like(t), hi = t.clone();
    for (int it = 0; it < 60; ++it) {
      const at::Tensor mid = 0.5 * (lo + hi);
      const at::Tensor below = mask_prob(mid) < target;
      lo = torch::where(below, mid, lo);
      hi = torch::where(below, hi, mid);
    }
    const at::Tensor next_t = torch::where(counts > 0, 0.5 * (lo + hi), t);  // finished samples keep their time
    std::vector<double> next(next_t.data_ptr<double>(), next_t.data_ptr<double>() + r.num);
    const at::Tensor lp = log_probs_without_mask(model.forward(x, objective.time_condition(next_t).to(device), at::Tensor()),
                                                 special.mask);
    ++out.network_calls;
    for (std::int64_t i = 0; i < r.num; ++i) {
      const at::Tensor positions = (x[i] == special.mask).nonzero().squeeze(1).cpu();
      if (positions.numel() == 0) continue;
      const auto pick = at::randint(positions.numel(), {1}, gens[i], torch::kLong).item<std::int64_t>();
      const auto pos = positions[pick].item<std::int64_t>();
      x[i][pos] = picker.pick(lp[i][pos].unsqueeze(0), gens[i]).item<std::int64_t>();
      out.times[static_cast<std::size_t>(i)].push_back(next[static_cast<std::size_t>(i)]);
    }
    t = next_t;
    if (r.on_step) r.on_step(x);
  }
}

// MaskGIT (Chang et al. 2022) / LLaDA (Nie et al. 2025) confidence decoding:
// at each of `steps` steps, every masked position gets a drawn token and a
// confidence (its probability, the top-1 − top-2 margin, or minus the
// entropy); the k most confident are revealed, k following a linear or cosine
// schedule of the number still masked.
void confidence(BackboneImpl& model, const Objective& objective, const SpecialTokens& special, const SampleRequest& r,
                const TokenPicker& picker, std::vector<at::Generator>& gens, at::Tensor& x, SampleResult& out) {
  const torch::Device device = x.device();
  const auto total = (x[0] == special.mask).sum().item<std::int64_t>();
  for (std::int64_t n = 0; n < r.steps && (x == special.mask).any().item<bool>(); ++n) {
    const double done = static_cast<double>(n + 1) / r.steps;
    const double left = r.k_schedule == "cosine" ? std::cos(M_PI / 2 * done) : 1.0 - done;
    const auto remaining = static_cast<std::int64_t>(std::llround(static_cast<double>(total) * left));
    const at::Tensor tt = torch::full({r.num}, 1.0 - static_cast<double>(n) / r.steps, torch::kFloat64);
    const at::Tensor lp = log_probs_without_mask(model.forward(x, objective.time_condition(tt).to(device), at::Tensor()),
                                                 special.mask);  // (N, L, V)
    ++out.network_calls;
    for (std::int64_t i = 0; i < r.num; ++i) {
      const at::Tensor masked = x[i] == special.mask;
      const std::int64_t k = masked.sum().item<std::int64_t>() - remaining;
      if (k <= 0) continue;
      const at::Tensor filtered = picker.log_probs(lp[i]);  // (L, V) float64
      const at::Tensor tokens =                              // (L): Gumbel-max on the same filtered distribution
          (r.picker.greedy ? filtered : filtered + gumbel_noise(filtered.sizes(), gens[i]).to(device)).argmax(-1);
      at::Tensor score;
      if (r.confidence == "margin") {
        const at::Tensor top2 = std::get<0>(filtered.exp().topk(2, -1));
        score = top2.select(1, 0) - top2.select(1, 1);
      } else if (r.confidence == "entropy") {
        const at::Tensor p = filtered.exp();
        score = (p * filtered.clamp_min(-1e300)).nan_to_num(0.0).sum(-1);  // −H
      } else {
        score = filtered.gather(-1, tokens.unsqueeze(-1)).squeeze(-1);       // log p of the drawn token
      }
      score = score.masked_fill(masked.logical_not(), -std::numeric_limits<double>::infinity());
      const at::Tensor chosen = std::get<1>(score.topk(k));
      x[i].index_put_({chosen}, tokens.index({chosen}));
    }
    if (r.on_step) r.on_step(x);
  }
}

// The ancestral loop over the positions in `active` ((L) bool; undefined =
// all): `steps` reverse steps from t = 1 to 0, then a greedy denoise of what
// is still masked there. With `cache`, a prediction is reused until a token changes.
void ancestral(BackboneImpl& model, const Objective& objective, const NoiseSchedule& schedule,
               const SpecialTokens& special, const SampleRequest& r, const TokenPicker& picker,
               std::vector<at::Generator>& gens, at::Tensor& x, SampleResult& out, const at::Tensor& active,
               std::int64_t steps, bool cache) {
  const torch::Device device = x.device();
  auto open = [&] {
    const at::Tensor masked = x == special.mask;
    return active.defined() ? masked.logical_and(active.unsqueeze(0)) : masked;
  };
  at::Tensor lp;  // (N, L, V) log p(x0 | x_t) of the last network call
  auto predict = [&](double t) {
    if (lp.defined() && cache) return;
    const at::Tensor tt = torch::full({r.num}, t, torch::kFloat64);
    lp = log_probs_without_mask(model.forward(x, objective.time_condition(tt).to(device), at::Tensor()), special.mask);
    ++out.network_calls;
  };
  for (std::int64_t n = 0; n < steps; ++n) {
    const at::Tensor masked = open();
    if (!masked.any().item<bool>()) break;
    const double t = 1.0 - static_cast<double>(n) / steps, s = 1.0 - static_cast<double>(n + 1) / steps;
    const double a_t = schedule.alpha(torch::full({1}, t, torch::kFloat64)).item<double>();
    const double a_s = s <= 0 ? 1.0 : schedule.alpha(torch::full({1}, s, torch::kFloat64)).item<double>();
    const double reveal = (a_s - a_t) / (1 - a_t);
    predict(t);
    std::vector<at::Tensor> rows;
    for (std::int64_t i = 0; i < r.num; ++i) {
      const at::Tensor u = at::rand({r.length}, gens[i], torch::kFloat64).to(device);
      const at::Tensor tokens = picker.pick(lp[i], gens[i]).to(device);  // (L)
      rows.push_back(torch::where(masked[i].logical_and(u < reveal), tokens, x[i]));
    }
    const at::Tensor next = torch::stack(rows);
    if (!torch::equal(next, x)) lp = at::Tensor();  // a token changed: the cache is stale
    x = next;
    if (r.on_step) r.on_step(x);
  }
  const at::Tensor masked = open();
  if (masked.any().item<bool>()) {  // a final greedy denoise of what is still masked
    predict(1.0 / steps);
    x = torch::where(masked, lp.argmax(-1), x);
    if (r.on_step) r.on_step(x);
  }
}

std::vector<std::string> sampler_names() { return {"ancestral", "cached", "confidence", "first_hitting", "semi_ar"}; }

SampleResult run_sampler(BackboneImpl& model, const Objective& objective, const SpecialTokens& special,
                         const SampleRequest& r) {
  const auto names = sampler_names();
  if (std::find(names.begin(), names.end(), r.sampler) == names.end())
    throw Error("unknown sampler '" + r.sampler + "' (known: ancestral, cached, confidence, first_hitting, semi_ar)");
  if (r.confidence != "maxprob" && r.confidence != "margin" && r.confidence != "entropy")
    throw Error("unknown confidence '" + r.confidence + "' (valid: maxprob, margin, entropy)");
  if (r.k_schedule != "linear" && r.k_schedule != "cosine")
    throw Error("unknown confidence schedule '" + r.k_schedule + "' (valid: linear, cosine)");
  if (r.steps < 1) throw Error("steps must be at least 1, got " + std::to_string(r.steps));
  if (r.num < 1) throw Error("the number of samples must be at least 1");
  if (static_cast<std::int64_t>(r.prompt.size()) + 2 > r.length)
    throw Error("a prompt of " + std::to_string(r.prompt.size()) + " tokens does not fit in length " +
                std::to_string(r.length) + " (BOS + prompt + at least one token; use a larger --length)");
  torch::NoGradGuard guard;
  const torch::Device device = model.parameters().front().device();
  SampleResult out;
  for (std::int64_t i = 0; i < r.num; ++i) out.seeds.push_back(stream_seed(r.seed, r.first_index + i));
  if (objective.causal()) {
    auto result = autoregressive(model, special, r, device);
    result.seeds = out.seeds;
    return result;
  }
  const auto linear = make_schedule([] {
    DiffusionConfig c;
    c.schedule = "linear";
    return c;
  }());
  const NoiseSchedule& schedule = objective.schedule() ? *objective.schedule() : *linear;
  // ddpm_cache reuses a prediction only when it cannot depend on t.
  const bool cache = r.sampler == "cached" && model.options().model.time_conditioning == "none";
  const TokenPicker picker(r.picker);
  auto gens = streams(r);
  const auto opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  at::Tensor x = torch::full({r.num, r.length}, special.mask, opts);  // (N, L)
  x.select(1, 0).fill_(special.bos);
  for (std::size_t j = 0; j < r.prompt.size(); ++j) x.select(1, static_cast<std::int64_t>(j) + 1).fill_(r.prompt[j]);
  if (r.sampler == "first_hitting" || r.sampler == "confidence") {
    if (r.sampler == "first_hitting") first_hitting(model, objective, schedule, special, r, picker, gens, x, out);
    else confidence(model, objective, special, r, picker, gens, x, out);
    out.ids = x.cpu();
    return out;
  }
  if (r.sampler == "semi_ar") {
    // Blocks left to right; each is denoised ancestrally while later blocks
    // stay masked and earlier ones are fixed context (LLaDA semi-AR decoding).
    const std::int64_t block = r.block_size > 0 ? r.block_size : r.length;
    const std::int64_t blocks = (r.length - 1 + block - 1) / block;
    const std::int64_t steps = std::max<std::int64_t>(1, r.steps / blocks);
    for (std::int64_t b = 0; b < blocks; ++b) {
      at::Tensor active = torch::zeros({r.length}, torch::TensorOptions().dtype(torch::kBool).device(device));
      active.narrow(0, 1 + b * block, std::min(block, r.length - 1 - b * block)).fill_(true);
      ancestral(model, objective, schedule, special, r, picker, gens, x, out, active, steps, false);
    }
  } else {
    ancestral(model, objective, schedule, special, r, picker, gens, x, out, at::Tensor(), r.steps, cache);
  }
  out.ids = x.cpu();
  return out;
}

std::string decode_sample(const Tokenizer& tokenizer, const at::Tensor& row, bool cut_at_eos) {
  std::string text;
  std::vector<int> ids;
  const auto* p = row.data_ptr<std::int64_t>();
  for (std::int64_t i = 1; i <= row.numel(); ++i) {
    if (i == row.numel() || p[i] == tokenizer.special().eos) {
      text += tokenizer.decode(ids);
      ids.clear();
      if (i == row.numel() || cut_at_eos) break;
      if (i + 1 < row.numel()) text += " [EOS] ";
      continue;
    }
    ids.push_back(static_cast<int>(p[i]));
  }
  return text;
}

}  // namespace unmask
