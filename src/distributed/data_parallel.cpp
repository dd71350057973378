// Sharding, parameter broadcast, statistics and state gathering for
// data-parallel training (see distributed/data_parallel.h).
#include "unmask/distributed/data_parallel.h"

#include <torch/torch.h>

#include "unmask/distributed/grad_sync.h"
#include "unmask/distributed/process_group.h"
#include "unmask/util/error.h"

namespace unmask {

Batch slice_rows(const Batch& b, std::int64_t start, std::int64_t len) {
  return {b.tokens.narrow(0, start, len), b.pad_mask.narrow(0, start, len), b.has_padding};
}

Noised slice_rows(const Noised& n, std::int64_t start, std::int64_t len) {
  auto cut = [&](const at::Tensor& t) { return t.defined() ? t.narrow(0, start, len) : t; };
  Noised out{cut(n.x_t), cut(n.cond), cut(n.t), cut(n.masked), cut(n.t_prev)};
  out.context = cut(n.context);
  out.block_size = n.block_size;
  return out;
}

DataParallel::DataParallel() = default;

DataParallel::DataParallel(const LaunchInfo& launch, const DistConfig& config, const at::Device& device)
    : launch_(launch), device_(device) {
  if (launch_.distributed()) group_ = std::make_unique<DistGroup>(launch_, config, device);
}

DataParallel::~DataParallel() = default;

std::string DataParallel::describe() const {
  if (!active()) return "1 process";
  return std::to_string(world_size()) + " ranks over " + group_->backend() + " (" + launch_.launcher +
         ", rendezvous " + launch_.master_addr + ":" + std::to_string(launch_.master_port) + ")";
}

Batch DataParallel::shard(const Batch& global) const {
  if (!active()) return global;
  const std::int64_t n = global.tokens.size(0) / world_size();
  return slice_rows(global, rank() * n, n);
}

Noised DataParallel::shard(const Noised& global) const {
  if (!active()) return global;
  const std::int64_t n = global.x_t.size(0) / world_size();
  return slice_rows(global, rank() * n, n);
}

void DataParallel::attach(BackboneImpl& model, double bucket_mb) {
  if (!active()) return;
  std::vector<at::Tensor> state, params;
  std::vector<std::string> names;
  for (const auto& p : model.named_parameters()) {
    state.push_back(p.value());
    params.push_back(p.value());
    names.push_back(p.key());
  }
  for (const auto& b : model.named_buffers()) state.push_back(b.value());
  // DDP's _sync_module_states: rank 0's initial weights everywhere.
  group_->broadcast(state, 0);
  sync_ = std::make_unique<GradSync>(*group_, params, names, bucket_mb);
}

void DataParallel::check_parameters_agree(BackboneImpl& model, std::int64_t step) {
  if (!active()) return;
  // Σ_i (i + 1)·Σ bits(p_i) in wrapping int64: any differing bit, or a swap
  // of two parameters, changes it.
  torch::NoGradGuard guard;
  at::Tensor checksum = torch::zeros({1}, torch::TensorOptions().dtype(torch::kInt64).device(device_));
  std::int64_t i = 0;
  for (const auto& p : model.parameters()) {
    const auto size = p.element_size();
    const auto as_int = size == 8 ? torch::kInt64 : size == 2 ? torch::kInt16 : torch::kInt32;
    checksum += p.detach().contiguous().view(as_int).to(torch::kInt64).sum() * (++i);
  }
  const auto all = gather(checksum);
  for (std::size_t r = 1; r < all.size(); ++r)
    if (!all[r].equal(all[0]))
      throw Error("step " + std::to_string(step) + ": the parameters of rank " + std::to_string(r) +
                  " differ from rank 0's: the ranks have diverged (a non-deterministic kernel, or ranks built from "
                  "different configs); resume from the last checkpoint");
}

std::vector<double> DataParallel::sum(const std::vector<double>& values) {
  if (!active()) return values;
  // (n) float64 on the default backend's device (NCCL reduces CUDA tensors only).
  at::Tensor t = torch::tensor(values, torch::kFloat64).to(group_->backend() == "nccl" ? device_ : at::Device(at::kCPU));
  group_->all_reduce_sum(t);
  t = t.cpu();
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

std::vector<at::Tensor> DataParallel::gather(const at::Tensor& tensor) {
  if (!active()) return {tensor.cpu()};
  return group_->all_gather(tensor.cpu());  // CPU tensors travel on Gloo
}

void DataParallel::barrier() {
  if (active()) group_->barrier();
}

std::uint64_t DataParallel::collectives() const { return active() ? group_->collectives() : 0; }

void DataParallel::guarded(const std::string& operation, const std::function<void()>& what) {
  if (active()) group_->guarded(operation, what);
  else what();
}

}  // namespace unmask
