// c10d::Reducer driven from C++ the way torch.nn.parallel.DistributedDataParallel
// drives it (torch/nn/parallel/distributed.py: _ddp_init_helper, _pre_forward,
// _post_forward): buckets by size in reverse registration order, bucket
// rebuild after the first iteration, prepare_for_forward/backward around
// synced micro-steps only.
#include "unmask/distributed/grad_sync.h"

#include <torch/csrc/distributed/c10d/reducer.hpp>

#include <algorithm>
#include <unordered_map>

#include "unmask/distributed/process_group.h"

namespace unmask {

namespace {
constexpr std::int64_t kFirstBucketBytes = 1024 * 1024;  // DDP's _DEFAULT_FIRST_BUCKET_BYTES
}

GradSync::GradSync(DistGroup& group, const std::vector<at::Tensor>& params, const std::vector<std::string>& names,
                   double bucket_mb)
    : group_(group) {
  const auto bucket_bytes = static_cast<std::int64_t>(bucket_mb * 1024 * 1024);
  const std::vector<bool> sparse(params.size(), false);
  group_.guarded("setting up the gradient all-reduce", [&] {
    auto [buckets, limits] = c10d::compute_bucket_assignment_by_size(
        params, {static_cast<std::size_t>(std::min(kFirstBucketBytes, bucket_bytes)), static_cast<std::size_t>(bucket_bytes)},
        sparse);
    // Gradients arrive roughly in reverse order of registration.
    std::reverse(buckets.begin(), buckets.end());
    buckets_ = buckets.size();
    std::unordered_map<std::size_t, std::string> param_names;
    for (std::size_t i = 0; i < names.size(); ++i) param_names[i] = names[i];
    reducer_ = std::make_unique<c10d::Reducer>(params, std::move(buckets), group_.handle(), sparse, bucket_bytes,
                                               /*find_unused_parameters=*/false, /*gradient_as_bucket_view=*/false,
                                               std::move(param_names), std::min(kFirstBucketBytes, bucket_bytes),
                                               /*skip_all_reduce_unused_params=*/false, /*use_python_reducer=*/false,
                                               /*bucket_bytes_cap_list=*/std::vector<std::int64_t>{});
  });
}

GradSync::~GradSync() = default;

void GradSync::before_forward(bool sync) {
  group_.guarded("rebuilding gradient buckets", [&] {
    reducer_->rebuild_buckets();
    if (sync) reducer_->prepare_for_forward();
  });
}

void GradSync::before_backward(const at::Tensor& loss) {
  group_.guarded("preparing the gradient all-reduce", [&] { reducer_->prepare_for_backward({loss}); });
}

}  // namespace unmask
