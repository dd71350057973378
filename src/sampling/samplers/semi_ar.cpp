// `semi_ar`: blocks left to right, earlier ones fixed, each denoised by the
// --inner sampler. The model sees the whole canvas (later blocks still
// masked) when it fits its context, else a window of `context` positions
// ending at the block. llada (LLaDA's semi-autoregressive remasking): blocks
// of `block_size` share the steps. mdlm (MDLM diffusion.py
// sample_subs_guidance): the first window is denoised jointly, then each
// block of `block_size` (MDLM's stride_length) in a window that slides by it,
// each with all the steps. With --cache prefix|dual the model's calls inside
// a block go through Fast-dLLM's approximate caches (block_cache.h).
#include <torch/torch.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "../block_cache.h"
#include "../strategies.h"

namespace unmask::sampling {
namespace {

class SemiAr final : public Strategy {
 public:
  void denoise(Denoiser& d, at::Tensor& x, const at::Tensor&, std::int64_t steps_asked) const override {
    const SampleRequest& r = d.request;
    const Strategy& inner = strategy(r.inner);
    const std::int64_t length = x.size(1);
    const std::int64_t context = d.context > 0 ? std::min(d.context, length) : length;
    const bool mdlm_style = r.semi_ar_style == "mdlm";
    std::vector<std::pair<std::int64_t, std::int64_t>> spans;  // [begin, end) of each block
    std::int64_t pos = mdlm_style ? context : std::min(1 + r.block_size, length);
    spans.emplace_back(r.mask_bos ? 0 : 1, pos);
    for (; pos < length; pos += r.block_size) spans.emplace_back(pos, std::min(pos + r.block_size, length));
    const auto blocks = static_cast<std::int64_t>(spans.size());
    const std::int64_t steps = mdlm_style ? steps_asked : std::max<std::int64_t>(1, steps_asked / blocks);
    const auto notify = d.notify;    // the caller's, called with the whole canvas
    const auto network = d.network;  // with --cache prefix|dual, replaced by the block's cache
    for (std::size_t b = 0; b < spans.size(); ++b) {
      const auto [begin, end] = spans[b];
      d.phase = static_cast<std::int64_t>(b) + 1;  // each block draws from its own sites
      const std::int64_t w0 = std::clamp<std::int64_t>(end - context, 0, length - context);
      at::Tensor window = x.narrow(1, w0, context).clone();  // (N, C)
      at::Tensor active = torch::zeros({context}, torch::TensorOptions().dtype(torch::kBool).device(x.device()));
      active.narrow(0, begin - w0, end - begin).fill_(true);
      d.notify = [&](const at::Tensor& w) {
        x.narrow(1, w0, context).copy_(w);
        if (notify) notify(x);
      };
      if (d.block_cache) {
        d.block_cache->begin_block(begin - w0, end - w0);
        d.network = [&d](const at::Tensor& xt, const at::Tensor& t) { return (*d.block_cache)(xt, t); };
      }
      const std::int64_t calls = d.out.network_calls;
      inner.denoise(d, window, active, steps);
      d.out.calls_per_block.push_back(d.out.network_calls - calls);
      x.narrow(1, w0, context).copy_(window);
    }
    d.notify = notify;
    d.network = network;
  }
};

}  // namespace

std::unique_ptr<Strategy> make_semi_ar_sampler() { return std::make_unique<SemiAr>(); }

}  // namespace unmask::sampling
