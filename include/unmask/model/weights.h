// Copying named tensors (a safetensors file, an HF checkpoint) into a module's
// parameters and buffers by name, with errors for anything missing, unexpected
// or of the wrong shape.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace unmask {

// `ignore`: names in `tensors` that are expected to have no counterpart (e.g.
// HF's tied cls.predictions.decoder.*). Names ending in "position_ids" are
// always ignored. `origin` names the source in error messages.
void load_named_tensors(torch::nn::Module& module, const std::map<std::string, at::Tensor>& tensors,
                        const std::string& origin, const std::set<std::string>& ignore = {});

// What a tolerant load left out: module tensors the source lacks (they keep
// their initialisation) and source tensors the module lacks (ignored).
struct PartialLoad {
  std::vector<std::string> missing, unexpected;
};
// Copies every tensor whose name both sides have; a shape mismatch is still an
// error. For initialising from a pretrained model of another shape of task
// (a BERT without DiffusionBERT's time embedding).
PartialLoad load_matching_tensors(torch::nn::Module& module, const std::map<std::string, at::Tensor>& tensors,
                                  const std::string& origin, const std::set<std::string>& ignore = {});

}  // namespace unmask
