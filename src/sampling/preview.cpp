// Ancestral unmasking (MDLM diffusion.py _ddpm_update: a masked position at t
// is revealed at s < t with probability (α_s − α_t)/(1 − α_t), its token drawn
// from p_θ(x0 | x_t) with [MASK] excluded) and left-to-right AR decoding.
#include "unmask/sampling/preview.h"

#include <torch/torch.h>

#include <limits>

#include "unmask/diffusion/masking.h"
#include "unmask/util/hash.h"

namespace unmask {
namespace {

std::vector<at::Generator> streams(std::int64_t n, std::uint64_t seed) {
  std::vector<at::Generator> out;
  for (std::int64_t i = 0; i < n; ++i)
    out.push_back(at::detail::createCPUGenerator(splitmix64(splitmix64(seed) ^ static_cast<std::uint64_t>(i))));
  return out;
}

// One token per row of `logits` (N, V), row i with stream i.
at::Tensor pick_rows(const TokenPicker& picker, const at::Tensor& logits, std::vector<at::Generator>& gens) {
  std::vector<at::Tensor> ids;
  for (std::int64_t i = 0; i < logits.size(0); ++i) ids.push_back(picker.pick(logits.narrow(0, i, 1), gens[i]));
  return torch::cat(ids).to(logits.device());
}

PreviewResult autoregressive(BackboneImpl& model, const SpecialTokens& special, const PreviewRequest& r,
                             const torch::Device& device) {
  const TokenPicker picker(r.picker);
  auto gens = streams(r.num, r.seed);
  at::Tensor x = torch::full({r.num, 1}, special.bos, torch::TensorOptions().dtype(torch::kLong).device(device));
  PreviewResult out;
  for (std::int64_t pos = 1; pos < r.length; ++pos) {
    const at::Tensor logits = model.forward(x, at::Tensor(), at::Tensor()).select(1, pos - 1).to(torch::kFloat32);
    ++out.network_calls;
    x = torch::cat({x, pick_rows(picker, logits, gens).unsqueeze(1)}, 1);
  }
  out.ids = x.cpu();
  return out;
}

}  // namespace

PreviewResult sample_preview(BackboneImpl& model, const Objective& objective, const SpecialTokens& special,
                             const PreviewRequest& r) {
  torch::NoGradGuard guard;
  const torch::Device device = model.parameters().front().device();
  if (objective.causal()) return autoregressive(model, special, r, device);
  const auto linear = make_schedule([] {
    DiffusionConfig c;
    c.schedule = "linear";
    return c;
  }());
  const NoiseSchedule& schedule = objective.schedule() ? *objective.schedule() : *linear;
  const TokenPicker picker(r.picker);
  auto gens = streams(r.num, r.seed);
  const auto opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  at::Tensor x = torch::full({r.num, r.length}, special.mask, opts);  // (N, L)
  x.select(1, 0).fill_(special.bos);
  const at::Tensor all;  // no padding: attention without a mask
  PreviewResult out;
  at::Tensor last_logits;
  for (std::int64_t n = 0; n < r.steps; ++n) {
    const at::Tensor masked = x == special.mask;
    if (!masked.any().item<bool>()) break;
    const double t = 1.0 - static_cast<double>(n) / r.steps, s = 1.0 - static_cast<double>(n + 1) / r.steps;
    const at::Tensor tt = torch::full({r.num}, t, torch::kFloat64);
    const double a_t = schedule.alpha(tt)[0].item<double>();
    const double a_s = s <= 0 ? 1.0 : schedule.alpha(torch::full({1}, s, torch::kFloat64)).item<double>();
    const double reveal = (a_s - a_t) / (1 - a_t);
    last_logits = model.forward(x, objective.time_condition(tt).to(device), all).to(torch::kFloat32);  // (N, L, V)
    ++out.network_calls;
    const at::Tensor lp = log_probs_without_mask(last_logits, special.mask);
    std::vector<at::Tensor> rows;
    for (std::int64_t i = 0; i < r.num; ++i) {
      const at::Tensor u = at::rand({r.length}, gens[i], torch::kFloat64).to(device);
      const at::Tensor tokens = picker.pick(lp[i], gens[i]).to(device);  // (L)
      rows.push_back(torch::where(masked[i].logical_and(u < reveal), tokens, x[i]));
    }
    x = torch::stack(rows);
  }
  const at::Tensor masked = x == special.mask;
  if (masked.any().item<bool>()) {  // a final greedy denoise of what is still masked
    last_logits = model.forward(x, objective.time_condition(torch::full({r.num}, 1.0 / r.steps, torch::kFloat64)).to(device), all);
    ++out.network_calls;
    x = torch::where(masked, log_probs_without_mask(last_logits, special.mask).argmax(-1), x);
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
