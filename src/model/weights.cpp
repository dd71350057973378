// Name-by-name weight loading.
#include "unmask/model/weights.h"

#include <torch/torch.h>

#include "unmask/util/error.h"

namespace unmask {

namespace {

PartialLoad copy_tensors(torch::nn::Module& module, const std::map<std::string, at::Tensor>& tensors,
                         const std::string& origin, const std::set<std::string>& ignore) {
  torch::NoGradGuard guard;
  PartialLoad result;
  std::set<std::string> used;
  auto targets = module.named_parameters(true);
  for (const auto& b : module.named_buffers(true)) targets.insert(b.key(), b.value());
  for (auto& item : targets) {
    const auto it = tensors.find(item.key());
    if (it == tensors.end()) {
      result.missing.push_back(item.key());
      continue;
    }
    if (it->second.sizes() != item.value().sizes())
      throw Error(origin + ": tensor '" + item.key() + "' has shape " + c10::str(it->second.sizes()) +
                  ", the model expects " + c10::str(item.value().sizes()));
    item.value().copy_(it->second);
    used.insert(item.key());
  }
  for (const auto& [name, tensor] : tensors) {
    const bool position_ids = name.size() >= 12 && name.compare(name.size() - 12, 12, "position_ids") == 0;
    if (!used.count(name) && !ignore.count(name) && !position_ids) result.unexpected.push_back(name);
  }
  return result;
}

}  // namespace

void load_named_tensors(torch::nn::Module& module, const std::map<std::string, at::Tensor>& tensors,
                        const std::string& origin, const std::set<std::string>& ignore) {
  const PartialLoad r = copy_tensors(module, tensors, origin, ignore);
  if (!r.missing.empty()) throw Error(origin + " has no tensor '" + r.missing.front() + "' that the model needs");
  if (!r.unexpected.empty())
    throw Error(origin + " has a tensor '" + r.unexpected.front() +
                "' that the model does not have (wrong backbone or size?)");
}

PartialLoad load_matching_tensors(torch::nn::Module& module, const std::map<std::string, at::Tensor>& tensors,
                                  const std::string& origin, const std::set<std::string>& ignore) {
  return copy_tensors(module, tensors, origin, ignore);
}

}  // namespace unmask
