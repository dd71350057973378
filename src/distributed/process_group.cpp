// Rendezvous and collectives on LibTorch's c10d (see distributed/process_group.h).
// Gloo's own headers come from Debian's libgloo-dev while its code lives in
// the wheel's libtorch_cpu: only the safe entry points are used (options,
// device factories, the constructor; collectives through c10d::ProcessGroup).
#include "unmask/distributed/process_group.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <c10/util/Logging.h>
#include <torch/torch.h>

#include <cstdlib>
#include <exception>
#include <map>

#include "nccl_backend.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

std::string first_line(const std::exception& e) {
  const auto* c10 = dynamic_cast<const c10::Error*>(&e);
  std::string text = c10 != nullptr ? c10->what_without_backtrace() : e.what();
  const std::size_t nl = text.find('\n');
  return nl == std::string::npos ? text : text.substr(0, nl);
}

std::string where(const LaunchInfo& l) { return l.master_addr + ":" + std::to_string(l.master_port); }

c10::intrusive_ptr<c10d::Store> connect_store(const LaunchInfo& l, std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(l.master_port);
  o.timeout = timeout;
  // torchrun's agent serves the store itself; otherwise rank 0 does.
  o.isServer = !l.agent_store && l.rank == 0;
  o.numWorkers = static_cast<std::size_t>(l.world_size);
  o.waitWorkers = !l.agent_store;
  o.multiTenant = true;
  // c10d logs every failed connection attempt with a backtrace; its outcome
  // becomes one line of ours instead.
  const int log_level = FLAGS_caffe2_log_level;
  FLAGS_caffe2_log_level = 3;  // fatal only
  try {
    auto store = c10::make_intrusive<c10d::TCPStore>(l.master_addr, o);
    FLAGS_caffe2_log_level = log_level;
    return c10::make_intrusive<c10d::PrefixStore>("unmask/", store);
  } catch (const std::exception& e) {
    FLAGS_caffe2_log_level = log_level;
    const double seconds = static_cast<double>(timeout.count()) / 1000.0;
    if (o.isServer)
      throw Error("rank 0 cannot serve the rendezvous store on " + where(l) + " or not all " +
                  std::to_string(l.world_size) + " ranks joined within " + std::to_string(static_cast<long>(seconds)) +
                  " s (dist.timeout_s); check MASTER_PORT is free and every rank was started: " + first_line(e));
    throw Error("rank " + std::to_string(l.rank) + " cannot reach the rendezvous store at " + where(l) + " within " +
                std::to_string(static_cast<long>(seconds)) +
                " s (dist.timeout_s): is rank 0 running, and are MASTER_ADDR and MASTER_PORT right? (" + first_line(e) +
                ")");
  }
}

std::shared_ptr<::gloo::transport::Device> gloo_device(const LaunchInfo& l) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname != 0)
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  // A job on one machine talks over loopback only.
  if (is_loopback_host(l.master_addr)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

DistGroup::DistGroup(const LaunchInfo& launch, const DistConfig& config, const at::Device& device) : launch_(launch) {
  backend_ = config.backend == "auto" ? (device.is_cuda() ? "nccl" : "gloo") : config.backend;
  if (backend_ == "nccl" && !device.is_cuda())
    throw Error("dist.backend=nccl needs CUDA tensors but this rank trains on the CPU (use dist.backend=gloo or auto)");
  if (backend_ == "nccl") {
    comm_device_ = device;
    if (const std::string problem = gpu_sharing_problem(launch_.local_world_size,
                                                        static_cast<std::int64_t>(torch::cuda::device_count()));
        !problem.empty())
      throw Error("rank " + std::to_string(launch_.rank) + ": " + problem);
    // A failed or timed-out NCCL collective throws from wait() (one line
    // naming the rank and the operation, as Gloo's do) instead of aborting
    // the process from NCCL's watchdog. A user's own setting wins.
    setenv("TORCH_NCCL_BLOCKING_WAIT", "1", /*overwrite=*/0);
  }
  const std::chrono::milliseconds timeout(config.timeout_s * 1000);
  auto store = connect_store(launch_, timeout);
  const int rank = static_cast<int>(launch_.rank), world = static_cast<int>(launch_.world_size);
  guarded("creating the " + backend_ + " process group", [&] {
    group_ = c10::make_intrusive<c10d::ProcessGroup>(store, rank, world);
    // Gloo always serves CPU tensors (checkpointed random states travel on it).
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    options->devices.push_back(gloo_device(launch_));
    auto gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(c10::make_intrusive<c10d::PrefixStore>("gloo/", store),
                                                            rank, world, options);
    group_->setBackend(c10::DeviceType::CPU, c10d::ProcessGroup::BackendType::GLOO, gloo);
    if (backend_ == "nccl") {
      auto nccl = make_nccl_backend(c10::make_intrusive<c10d::PrefixStore>("nccl/", store), rank, world, timeout);
      group_->setBackend(c10::DeviceType::CUDA, c10d::ProcessGroup::BackendType::NCCL, nccl);
      group_->setDefaultBackend(c10d::ProcessGroup::BackendType::NCCL);
    } else {
      if (device.is_cuda()) group_->setBackend(c10::DeviceType::CUDA, c10d::ProcessGroup::BackendType::GLOO, gloo);
      group_->setDefaultBackend(c10d::ProcessGroup::BackendType::GLOO);
    }
  });
  guarded("numbering collectives", [&] { group_->setSequenceNumberForGroup(); });
  barrier();  // every rank has joined
}

std::uint64_t DistGroup::collectives() const { return group_->getSequenceNumberForGroup(); }

DistGroup::~DistGroup() {
  // Shut the backends down before they are destroyed (NCCL warns "process
  // group has NOT been destroyed" otherwise); abort instead while an error
  // unwinds, when a peer may never answer.
  if (!group_) return;
  try {
    if (std::uncaught_exceptions() > 0) group_->abort();
    else group_->shutdown();
  } catch (const std::exception& e) {
    LOG(WARNING) << "rank " << launch_.rank << ": shutting the process group down: " << first_line(e);
  }
}

void DistGroup::rethrow(const std::string& operation, const std::exception& e) const {
  throw Error("rank " + std::to_string(launch_.rank) + " of " + std::to_string(launch_.world_size) + ": " + operation +
              " failed (another rank exited, was killed or lost its node, or dist.timeout_s passed): " + first_line(e));
}

void DistGroup::all_reduce_sum(at::Tensor& tensor) {
  guarded("all-reduce", [&] {
    std::vector<at::Tensor> tensors = {tensor};
    group_->allreduce(tensors)->wait();
  });
}

void DistGroup::broadcast(const std::vector<at::Tensor>& tensors, std::int64_t root) {
  torch::NoGradGuard no_grad;
  // One flat message per (device, dtype).
  std::map<std::pair<std::string, c10::ScalarType>, std::vector<at::Tensor>> groups;
  for (const auto& t : tensors) groups[{t.device().str(), t.scalar_type()}].push_back(t);
  for (auto& [key, list] : groups) {
    std::vector<at::Tensor> flat = {at::flatten_dense_tensors(list)};
    guarded("broadcast from rank " + std::to_string(root), [&] {
      c10d::BroadcastOptions o;
      o.rootRank = root;
      group_->broadcast(flat, o)->wait();
    });
    const auto parts = at::unflatten_dense_tensors(flat[0], list);
    for (std::size_t i = 0; i < list.size(); ++i) list[i].copy_(parts[i]);
  }
}

std::vector<at::Tensor> DistGroup::all_gather(const at::Tensor& tensor) {
  std::vector<std::vector<at::Tensor>> out(1);
  for (std::int64_t r = 0; r < launch_.world_size; ++r) out[0].push_back(torch::empty_like(tensor));
  std::vector<at::Tensor> in = {tensor.contiguous()};
  guarded("all-gather", [&] { group_->allgather(out, in)->wait(); });
  return out[0];
}

void DistGroup::barrier() {
  // An all-reduce on the default backend's device: NCCL's barrier needs a
  // bound device, this does not.
  at::Tensor one = torch::ones({1}, comm_device_);
  all_reduce_sum(one);
}

}  // namespace unmask
