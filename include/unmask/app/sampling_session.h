// A trained model loaded once (weights, tokenizer, objective, device) that
// serves many sample requests: `unmask sample`, `eval all`, the benchmarks
// and the server all sample through it. Requests come from the run's config
// plus overrides (sampling/request.h); results are tokens, or text rows as
// `unmask sample` prints them.
#pragma once

#include <filesystem>
#include <string>

#include "unmask/app/sample.h"
#include "unmask/run/run_model.h"
#include "unmask/sampling/request.h"
#include "unmask/sampling/sampler.h"

namespace unmask {

class SamplingSession {
 public:
  // `checkpoint`: a run dir (its latest) or a checkpoint dir; `device`:
  // auto | cpu | cuda; `ema`: the EMA weights when the checkpoint has them;
  // `precision`: run | fp32 | bf16 (load_run_model).
  SamplingSession(const std::filesystem::path& checkpoint, const std::string& device, bool ema,
                  const std::string& precision = "run");

  const RunModel& model() const { return m_; }
  RunModel& model() { return m_; }
  const RunConfig& config() const { return m_.config; }
  const Tokenizer& tokenizer() const { return *m_.tokenizer; }

  // The run's `sample` section with `overrides` applied, for this model and
  // device (bf16 autocast on CUDA unless the run trained in fp32).
  SampleRequest request(const SampleOverrides& overrides) const;
  // Denoises: tokens, network calls, reveal steps (Error for a bad request).
  SampleResult sample(const SampleRequest& request);
  // Text rows of a result as `unmask sample` reports them (`prompts`: the
  // templates the request was built from, for the JSONL `prompt` field).
  SampleOutput rows(const SampleRequest& request, const SampleResult& result, double seconds,
                    const std::vector<std::string>& prompts = {}) const;

 private:
  RunModel m_;
};

}  // namespace unmask
