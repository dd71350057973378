// The backbone registry.
#include "unmask/model/backbone.h"

#include <torch/torch.h>

#include <functional>

#include "unmask/model/bert.h"
#include "unmask/model/dit.h"
#include "unmask/registry.h"

namespace unmask {
namespace {

using BackboneFactory = std::function<Backbone(const BackboneOptions&)>;

const Registry<BackboneFactory>& registry() {
  static const Registry<BackboneFactory> r = [] {
    Registry<BackboneFactory> reg("backbone");
    reg.add("bert", [](const BackboneOptions& o) { return std::make_shared<BertBackbone>(o); });
    reg.add("dit", [](const BackboneOptions& o) { return std::make_shared<DitBackbone>(o); });
    return reg;
  }();
  return r;
}

}  // namespace

at::Tensor BackboneImpl::forward_rows(const at::Tensor& x, const at::Tensor& cond, const at::Tensor& pad_mask,
                                     const at::Tensor& rows) {
  return forward(x, cond, pad_mask).flatten(0, 1).index_select(0, rows);  // (M, V)
}

Backbone make_backbone(const BackboneOptions& options) {
  if (options.vocab_size < 1) throw Error("backbone needs a positive vocabulary size");
  return registry().get(options.model.backbone)(options);
}

std::vector<std::string> backbone_names() { return registry().names(); }

}  // namespace unmask
