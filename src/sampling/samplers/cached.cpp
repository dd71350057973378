// `cached`: MDLM diffusion.py _ddpm_caching_update. The ancestral steps,
// except that when a step changed no token and the network ignores t
// (model.time_conditioning=none), the next step reuses the prediction instead
// of calling the network: the same draws, fewer calls (nfe_saved counts them).
#include "../strategies.h"

namespace unmask::sampling {
namespace {

class Cached final : public Strategy {
 public:
  void denoise(Denoiser& d, at::Tensor& x, const at::Tensor& active, std::int64_t steps) const override {
    // A prediction may be reused only when it cannot depend on t.
    ancestral_steps(d, x, active, steps, /*reuse=*/d.time_independent);
  }
};

}  // namespace

std::unique_ptr<Strategy> make_cached_sampler() { return std::make_unique<Cached>(); }

}  // namespace unmask::sampling
