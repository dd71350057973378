// The trainer's view of data parallelism. Every rank reads and corrupts the
// whole global batch with the same generators (cheap next to the network),
// then keeps its contiguous share of rows: N ranks × B/N rows see exactly
// the noised batch of 1 process × B rows, so the trajectory, the loader
// position and the corruption state do not depend on the world size. With
// one process it is inert: no process group, shards are the whole batch.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "unmask/config.h"
#include "unmask/data/batch.h"
#include "unmask/diffusion/objective.h"
#include "unmask/distributed/launch.h"
#include "unmask/model/backbone.h"

namespace unmask {

class DistGroup;
class GradSync;

// Rows [start, start + len) of every per-row tensor.
Batch slice_rows(const Batch& batch, std::int64_t start, std::int64_t len);
Noised slice_rows(const Noised& noised, std::int64_t start, std::int64_t len);

class DataParallel {
 public:
  DataParallel();  // one process
  // Joins the job in `launch` (a no-op for world size 1).
  DataParallel(const LaunchInfo& launch, const DistConfig& config, const at::Device& device);
  ~DataParallel();

  bool active() const { return group_ != nullptr; }
  std::int64_t rank() const { return launch_.rank; }
  std::int64_t world_size() const { return launch_.world_size; }
  bool is_main() const { return launch_.rank == 0; }
  const LaunchInfo& launch() const { return launch_; }
  std::string describe() const;  // "2 ranks over gloo (torchrun)"

  // This rank's rows of a global batch (B must divide by the world size).
  Batch shard(const Batch& global) const;
  Noised shard(const Noised& global) const;

  // Makes every rank's parameters and buffers rank 0's, then attaches the
  // gradient all-reduce. Null sync() for one process.
  void attach(BackboneImpl& model, double bucket_mb);
  GradSync* sync() const { return sync_.get(); }

  // Throws unless every rank holds bit-identical parameters (a checksum of
  // their bits, gathered); rank 0's checkpoint then speaks for all.
  void check_parameters_agree(BackboneImpl& model, std::int64_t step);

  // Element-wise sums over ranks (identity for one process).
  std::vector<double> sum(const std::vector<double>& values);
  // Every rank's `tensor`, by rank, on the CPU (one element for one process).
  std::vector<at::Tensor> gather(const at::Tensor& tensor);
  void barrier();
  std::uint64_t collectives() const;  // issued so far by this rank (0 for one process)
  // Runs `what`, turning a collective's failure into one Error line.
  void guarded(const std::string& operation, const std::function<void()>& what);

 private:
  LaunchInfo launch_;
  at::Device device_{at::kCPU};
  std::unique_ptr<DistGroup> group_;
  std::unique_ptr<GradSync> sync_;
};

}  // namespace unmask
