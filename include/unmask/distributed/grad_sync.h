// Gradient all-reduce for data parallelism: LibTorch's c10d::Reducer, the
// engine of PyTorch DDP (gradients grouped into ~25 MB buckets, each bucket
// all-reduced asynchronously as soon as its gradients are ready during the
// backward pass, averaged over ranks).
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

namespace c10d {
class Reducer;
}

namespace unmask {

class DistGroup;

class GradSync {
 public:
  // `params` in the model's registration order, `names` beside them (for
  // c10d's error messages). bucket_mb: DDP's bucket_cap_mb (first bucket 1 MB).
  GradSync(DistGroup& group, const std::vector<at::Tensor>& params, const std::vector<std::string>& names,
           double bucket_mb);
  ~GradSync();

  // Before every forward with gradients; `sync` for the micro-batch whose
  // backward all-reduces (the step's last). Others accumulate locally, as
  // DDP's no_sync() does.
  void before_forward(bool sync);
  // Right before the synced backward of `loss`.
  void before_backward(const at::Tensor& loss);

  std::size_t buckets() const { return buckets_; }

 private:
  DistGroup& group_;
  std::unique_ptr<c10d::Reducer> reducer_;
  std::size_t buckets_ = 0;
};

}  // namespace unmask
