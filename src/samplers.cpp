// The sampler registry (samplers.def) as specs, names and lookups.
#include "unmask/samplers.h"

#include "unmask/util/error.h"

namespace unmask {

const std::vector<SamplerSpec>& sampler_specs() {
  static const std::vector<SamplerSpec> specs = {
#define UNMASK_SAMPLER(name, supports, summary) {SamplerId::name, #name, (supports), summary},
#include "unmask/samplers.def"
#undef UNMASK_SAMPLER
  };
  return specs;
}

const SamplerSpec& sampler_spec(SamplerId id) { return sampler_specs().at(static_cast<std::size_t>(id)); }

const char* sampler_name(SamplerId id) { return sampler_spec(id).name; }

SamplerId parse_sampler(const std::string& name) {
  for (const auto& s : sampler_specs())
    if (name == s.name) return s.id;
  throw Error("unknown sampler '" + name + "' (known: " + sampler_list() + ")");
}

std::vector<std::string> sampler_names(std::uint32_t required) {
  std::vector<std::string> out;
  for (const auto& s : sampler_specs())
    if ((s.supports & required) == required) out.emplace_back(s.name);
  return out;
}

std::string sampler_list(std::uint32_t required, const std::string& separator) {
  std::string out;
  for (const auto& name : sampler_names(required)) out += (out.empty() ? "" : separator) + name;
  return out;
}

}  // namespace unmask
