// RunConfig + SampleOverrides → SampleRequest (request.h).
#include "unmask/sampling/request.h"

#include <algorithm>

#include "unmask/diffusion/objective.h"
#include "unmask/sampling/prompt_template.h"
#include "unmask/util/error.h"

namespace unmask {

std::vector<int> encode_prompt_template(const Tokenizer& tokenizer, const std::string& text) {
  std::vector<int> ids;
  for (const auto& piece : parse_prompt_template(text)) {
    if (piece.masks > 0) {
      ids.insert(ids.end(), static_cast<std::size_t>(piece.masks), tokenizer.special().mask);
    } else {
      const auto encoded = tokenizer.encode(piece.text);
      ids.insert(ids.end(), encoded.begin(), encoded.end());
    }
  }
  return ids;
}

namespace {

SamplerId parse_inner(const std::string& name) {
  for (const auto& spec : sampler_specs())
    if (name == spec.name && spec.has(kInsideSemiAr)) return spec.id;
  throw Error("unknown inner sampler '" + name + "' for semi_ar (valid: " + sampler_list(kInsideSemiAr) + ")");
}

}  // namespace

SampleRequest sample_request(const RunConfig& config, const Tokenizer& tokenizer, const SampleOverrides& o) {
  const SampleConfig& s = config.sample;
  const ObjectiveTraits objective = objective_traits(config.diffusion.objective);
  const bool causal = objective.causal;
  SampleRequest r;
  r.sampler = parse_sampler(o.sampler.value_or(s.sampler));
  r.num = o.num.value_or(s.num);
  r.length = o.length.value_or(s.length);
  r.steps = o.steps.value_or(s.steps);
  r.picker.temperature = o.temperature.value_or(s.temperature);
  r.picker.top_k = o.top_k.value_or(s.top_k);
  r.picker.top_p = o.top_p.value_or(s.top_p);
  if (r.picker.temperature == 0) {  // temperature 0: the argmax
    r.picker.greedy = true;
    r.picker.temperature = 1;
  }
  if (o.draw) r.picker.draw = parse_draw(*o.draw);
  r.filter = o.filter.value_or(s.filter);
  r.seed = o.seed.value_or(static_cast<std::uint64_t>(config.seed));
  for (const auto& text : o.prompts) {
    r.prompts.push_back(encode_prompt_template(tokenizer, text));
    const auto& ids = r.prompts.back();
    if (causal && std::count(ids.begin(), ids.end(), tokenizer.special().mask) > 0)
      throw Error("an ar checkpoint decodes left to right and cannot fill [MASK:n] spans; use a prefix prompt");
  }
  if (o.confidence) r.confidence = *o.confidence;
  if (o.k_schedule) r.k_schedule = *o.k_schedule;
  if (o.remask) r.remask = *o.remask;
  if (o.unmask) r.unmask = *o.unmask;
  if (o.threshold) r.threshold = *o.threshold;
  if (o.factor) r.factor = *o.factor;
  if (o.remdm) r.remdm = *o.remdm;
  if (o.eta) r.eta = *o.eta;
  if (o.t_on) r.t_on = *o.t_on;
  if (o.t_off) r.t_off = *o.t_off;
  if (o.alpha_on) r.alpha_on = *o.alpha_on;
  if (o.inner) r.inner = parse_inner(*o.inner);
  r.semi_ar_style = o.semi_ar_style.value_or(s.semi_ar_style);
  r.mask_bos = o.mask_bos.value_or(s.mask_bos);
  if (o.block_size) r.block_size = *o.block_size;
  // Positions the model was built for (a prefix time token takes one);
  // semi_ar slides a window of this size over longer text.
  r.context = config.model.max_length - (config.model.time_conditioning == "prefix" ? 1 : 0);
  if (objective.blocks) r.context = std::min(r.context, config.data.length);  // blocks as trained
  r.stop_at_eos = config.data.mode == "pad";
  r.T = config.diffusion.T;  // discrete-time models step on their grid k/T
  if (o.kv_cache) r.kv_cache = *o.kv_cache;
  if (o.cache) r.cache = *o.cache;
  if (o.cache_refresh) r.cache_refresh = *o.cache_refresh;
  return r;
}

}  // namespace unmask
