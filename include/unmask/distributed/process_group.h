// The c10d process group of a data-parallel job: rendezvous over a TCPStore
// (rank 0's, or torchrun's agent store), Gloo for CPU tensors and NCCL for
// CUDA tensors, and the few collectives the trainer needs. Failures of a
// collective (a rank died, the network broke, the timeout passed) become one
// unmask::Error line. A single process never builds one.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/util/intrusive_ptr.h>

#include <memory>
#include <string>
#include <vector>

#include "unmask/config.h"
#include "unmask/distributed/launch.h"
#include "unmask/util/error.h"

namespace c10d {
class ProcessGroup;
}

namespace unmask {

class DistGroup {
 public:
  // Joins the job described by `launch` (world size > 1). `device` is this
  // rank's training device: CUDA selects NCCL under dist.backend=auto.
  DistGroup(const LaunchInfo& launch, const DistConfig& config, const at::Device& device);
  ~DistGroup();

  std::int64_t rank() const { return launch_.rank; }
  std::int64_t world_size() const { return launch_.world_size; }
  const std::string& backend() const { return backend_; }
  const c10::intrusive_ptr<c10d::ProcessGroup>& handle() const { return group_; }

  void all_reduce_sum(at::Tensor& tensor);  // in place
  // Rank `root`'s values into every rank's tensors, in one flattened message
  // per dtype.
  void broadcast(const std::vector<at::Tensor>& tensors, std::int64_t root = 0);
  // Every rank's copy of `tensor` (same shape and dtype on every rank), by rank.
  std::vector<at::Tensor> all_gather(const at::Tensor& tensor);
  void barrier();
  // Collectives this rank has issued so far (c10d's sequence number).
  std::uint64_t collectives() const;

  // Runs `what` and turns a c10d failure into an Error that names the rank
  // and the operation.
  template <class F> void guarded(const std::string& operation, F&& what);

 private:
  [[noreturn]] void rethrow(const std::string& operation, const std::exception& e) const;
  LaunchInfo launch_;
  std::string backend_;
  at::Device comm_device_{at::kCPU};  // where the default backend's tensors live
  c10::intrusive_ptr<c10d::ProcessGroup> group_;
};

template <class F> void DistGroup::guarded(const std::string& operation, F&& what) {
  try {
    what();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    rethrow(operation, e);
  }
}

}  // namespace unmask
