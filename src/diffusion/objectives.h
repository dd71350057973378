// Factories of the built-in objectives, for the registry in objective.cpp.
#pragma once

#include <memory>

#include "unmask/diffusion/objective.h"

namespace unmask {

std::unique_ptr<Objective> make_mdlm(const ObjectiveContext& context);
std::unique_ptr<Objective> make_d3pm(const ObjectiveContext& context, bool diffusionbert);
std::unique_ptr<Objective> make_mlm(const ObjectiveContext& context, bool roberta_diffusion);
std::unique_ptr<Objective> make_ar(const ObjectiveContext& context);

}  // namespace unmask
