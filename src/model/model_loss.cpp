// Logits (all, or the masked rows only) and the objective's loss; see model_loss.h.
#include "unmask/model/model_loss.h"

#include <torch/torch.h>

#include "unmask/util/autocast.h"

namespace unmask {

LossOutput model_loss(BackboneImpl& model, const Objective& objective, const Batch& batch, const Noised& n,
                      const at::Tensor& attention, bool autocast_bf16, bool masked_head) {
  const bool rows_only = masked_head && objective.masked_rows_only();
  at::Tensor logits;  // (B, L, V), or (M, V) at the masked positions
  {
    const AutocastGuard autocast(batch.tokens.device().type(), autocast_bf16);
    const at::Tensor rows = rows_only ? n.masked.reshape({-1}).nonzero().squeeze(1) : at::Tensor();  // (M)
    if (n.block_size > 0)  // block diffusion: x_t beside its clean context
      logits = model.forward_blocks(n.x_t, n.context, n.cond, attention, n.block_size, rows);
    else
      logits = rows_only ? model.forward_rows(n.x_t, n.cond, attention, rows) : model.forward(n.x_t, n.cond, attention);
  }
  return rows_only ? objective.loss_rows(logits.to(torch::kFloat32), batch, n)
                   : objective.loss(logits.to(torch::kFloat32), batch, n);
}

}  // namespace unmask
