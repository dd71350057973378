// The objective registry.
#include "unmask/diffusion/objective.h"

#include "unmask/util/error.h"

#include <torch/torch.h>

#include <functional>

#include "objectives.h"
#include "unmask/registry.h"

namespace unmask {

LossOutput Objective::loss_rows(const at::Tensor&, const Batch&, const Noised&) const {
  throw Error("the " + name() + " loss reads every position's logits, not only the masked rows");
}
namespace {

using ObjectiveFactory = std::function<std::unique_ptr<Objective>(const ObjectiveContext&)>;

struct ObjectiveEntry {
  ObjectiveFactory make;
  ObjectiveTraits traits;
};

// One line per objective: its name, its factory and what it is.
const Registry<ObjectiveEntry>& registry() {
  static const Registry<ObjectiveEntry> r = [] {
    Registry<ObjectiveEntry> reg("objective");
    reg.add("mdlm", {make_mdlm, {}});
    reg.add("d3pm", {[](const ObjectiveContext& c) { return make_d3pm(c, false); }, {}});
    reg.add("diffusionbert", {[](const ObjectiveContext& c) { return make_d3pm(c, true); }, {}});
    reg.add("mlm", {[](const ObjectiveContext& c) { return make_mlm(c, false); }, {false, false}});
    reg.add("roberta_diffusion", {[](const ObjectiveContext& c) { return make_mlm(c, true); }, {false, false}});
    reg.add("ar", {make_ar, {true, true}});
    reg.add("bd3lm", {make_bd3lm, {false, true, true}});
    return reg;
  }();
  return r;
}

}  // namespace

Noised Objective::corrupt_at(const Batch&, const at::Tensor&, at::Generator&) const {
  throw Error("diffusion.objective=" + name() + " has no diffusion time to corrupt at");
}

at::Tensor Objective::time_condition(const at::Tensor& t) const { return torch::zeros_like(t, torch::kFloat32); }

std::unique_ptr<Objective> make_objective(const ObjectiveContext& context) {
  return registry().get(context.diffusion.objective).make(context);
}

std::vector<std::string> objective_names() { return registry().names(); }

ObjectiveTraits objective_traits(const std::string& name) { return registry().get(name).traits; }

bool Objective::causal() const { return objective_traits(name()).causal; }
bool Objective::is_bound() const { return objective_traits(name()).bound; }

std::vector<std::string> bound_objective_names() {
  std::vector<std::string> out;
  for (const auto& n : registry().names())
    if (registry().get(n).traits.bound) out.push_back(n);
  return out;
}

}  // namespace unmask
