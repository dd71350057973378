// SamplingSession: one loaded model, many sample requests.
#include "unmask/app/sampling_session.h"

#include <torch/torch.h>

#include <algorithm>

namespace unmask {

SamplingSession::SamplingSession(const std::filesystem::path& checkpoint, const std::string& device, bool ema,
                                 const std::string& precision)
    : m_(load_run_model(checkpoint, device, ema, precision)) {}

SampleRequest SamplingSession::request(const SampleOverrides& overrides) const {
  SampleRequest r = sample_request(m_.config, *m_.tokenizer, overrides);
  r.autocast_bf16 = m_.device.is_cuda() && m_.config.train.precision != "fp32";
  return r;
}

SampleResult SamplingSession::sample(const SampleRequest& request) {
  return run_sampler(*m_.model, *m_.objective, m_.tokenizer->special(), request);
}

SampleOutput SamplingSession::rows(const SampleRequest& r, const SampleResult& result, double seconds,
                                   const std::vector<std::string>& prompts) const {
  const Tokenizer& tok = *m_.tokenizer;
  const bool cut = m_.config.data.mode == "pad";
  SampleOutput o;
  o.sampler = sampler_name(r.sampler);
  o.steps = r.steps;
  o.network_calls = result.network_calls;
  o.calls_saved = result.calls_saved;
  o.calls_per_block = result.calls_per_block;
  o.positions_computed = result.positions_computed;
  o.seconds = seconds;
  o.tokenizer = tok.fingerprint();
  o.ema = m_.ema;
  for (std::int64_t i = 0; i < r.num; ++i) {
    const at::Tensor row = result.ids[i];
    // The last fixed position of this sample's template (BOS is position 0).
    std::int64_t last_fixed = 0;
    if (!r.prompts.empty()) {
      const auto& tpl = r.prompts[static_cast<std::size_t>(i) % r.prompts.size()];
      for (std::size_t k = 0; k < tpl.size(); ++k)
        if (tpl[k] != tok.special().mask) last_fixed = static_cast<std::int64_t>(k) + 1;
    }
    SampleRow s;
    s.text = decode_sample(tok, row, cut, last_fixed);
    // Pad-mode samples end at their first EOS past the template (inclusive),
    // in text and ids.
    const std::int64_t* begin = row.data_ptr<std::int64_t>();
    const std::int64_t* end = begin + row.numel();
    if (cut) {
      const std::int64_t* eos = std::find(begin + std::min<std::int64_t>(last_fixed + 1, row.numel()), end, tok.special().eos);
      if (eos != end) end = eos + 1;
    }
    s.ids.assign(begin, end);
    const at::Tensor reveal_row = result.reveal_step[i].contiguous();
    const std::int64_t* reveal = reveal_row.data_ptr<std::int64_t>();
    s.reveal_step.assign(reveal, reveal + (end - begin));
    s.seed = result.seeds[static_cast<std::size_t>(i)];
    if (!prompts.empty()) s.prompt = prompts[static_cast<std::size_t>(i) % prompts.size()];
    o.rows.push_back(std::move(s));
  }
  return o;
}

}  // namespace unmask
