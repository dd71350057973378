// The network's logits and the objective's loss for one noised batch: the
// step shared by training, validation and the ELBO. Objectives whose loss
// reads only the masked positions (mdlm, mlm, roberta_diffusion, and d3pm /
// diffusionbert without the hybrid CE term) get just those rows: the backbone
// runs its output head on M of the B·L positions (BackboneImpl::forward_rows),
// with the same numbers and gradients as the full logits.
#pragma once

#include <ATen/core/Tensor.h>

#include "unmask/diffusion/objective.h"
#include "unmask/model/backbone.h"

namespace unmask {

// attention: (B, L) bool key mask or undefined; autocast_bf16: the forward
// under bf16 autocast on the batch's device; masked_head: take the masked rows
// only when the objective allows it (train.masked_head).
LossOutput model_loss(BackboneImpl& model, const Objective& objective, const Batch& batch, const Noised& noised,
                      const at::Tensor& attention, bool autocast_bf16, bool masked_head);

}  // namespace unmask
