// The strategy table: one instance of every sampler in samplers.def, each
// made by the make_<name>_sampler() of its file in samplers/.
#include "strategies.h"

#include <memory>
#include <vector>

namespace unmask::sampling {

#define UNMASK_SAMPLER(name, supports, summary) std::unique_ptr<Strategy> make_##name##_sampler();
#include "unmask/samplers.def"
#undef UNMASK_SAMPLER

const Strategy& strategy(SamplerId id) {
  static const std::vector<std::unique_ptr<Strategy>> table = [] {
    std::vector<std::unique_ptr<Strategy>> t;
#define UNMASK_SAMPLER(name, supports, summary) t.push_back(make_##name##_sampler());
#include "unmask/samplers.def"
#undef UNMASK_SAMPLER
    return t;
  }();
  return *table.at(static_cast<std::size_t>(id));
}

}  // namespace unmask::sampling
