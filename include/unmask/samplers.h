// The samplers unmask knows, by typed name, with what each supports: the one
// registry (samplers.def) that the config schema, the command line, --help,
// the docs and the sampling code all read. Torch-free, so that the CLI and the
// config check list the samplers without loading LibTorch; the strategies
// themselves live in src/sampling/samplers/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace unmask {

enum class SamplerId : std::uint8_t {
#define UNMASK_SAMPLER(name, supports, summary) name,
#include "unmask/samplers.def"
#undef UNMASK_SAMPLER
};

// What a sampler can do (bits of SamplerSpec::supports).
enum SamplerSupport : std::uint32_t {
  kWholeStepGraph = 1u << 0,  // --cuda-graph replays its whole step (one fixed sequence of device operations)
  kInBlocks = 1u << 1,        // runs inside bd3lm blocks, attending to the KV cache of the finished blocks
  kInsideSemiAr = 1u << 2,    // can be semi_ar's --inner sampler (denoises a span of the canvas)
  kReverseFilter = 1u << 3,   // --filter reverse: draws from the reverse step with [MASK] as an outcome
  kRunsInner = 1u << 4,       // runs another sampler (--inner) block by block
  kSlidesWindow = 1u << 5,    // generates text longer than the model's context
  kSkipsCalls = 1u << 6,      // may reuse a prediction instead of a network call (nfe_saved)
  kParallelUnmask = 1u << 7,  // --unmask threshold|factor: reveals every position confident enough (Fast-dLLM)
  kBlockCache = 1u << 8,      // --cache prefix|dual: Fast-dLLM's approximate caches for its blocks (bert, dit)
};

struct SamplerSpec {
  SamplerId id;
  const char* name;
  std::uint32_t supports;
  const char* summary;
  bool has(SamplerSupport s) const { return (supports & s) != 0; }
};

// Every sampler, in registry order.
const std::vector<SamplerSpec>& sampler_specs();
const SamplerSpec& sampler_spec(SamplerId id);
// Error "unknown sampler 'x' (known: ...)" for a name not in the registry.
SamplerId parse_sampler(const std::string& name);
const char* sampler_name(SamplerId id);
// The names of the samplers that support all of `required` (0: every sampler).
std::vector<std::string> sampler_names(std::uint32_t required = 0);
// Those names joined by `separator` ("ancestral, cached, ...").
std::string sampler_list(std::uint32_t required = 0, const std::string& separator = ", ");

}  // namespace unmask
