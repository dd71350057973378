// Helpers for the LibTorch test suite: a tiny backbone configuration, and a
// tiny bert with an mdlm objective for the sampler tests.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "unmask/diffusion/objective.h"
#include "unmask/model/backbone.h"

namespace unmask::test {

// 2 layers × 32 hidden × 4 heads, no dropout, 64 positions, vocab 50.
inline BackboneOptions tiny_backbone(const std::string& backbone, const std::string& time = "none",
                                     bool causal = false) {
  BackboneOptions o;
  o.model.backbone = backbone;
  o.model.hidden = 32;
  o.model.layers = 2;
  o.model.heads = 4;
  o.model.mlp_ratio = 2;
  o.model.dropout = 0.0;
  o.model.max_length = 64;
  o.model.cond_dim = 16;
  o.model.time_conditioning = time;
  o.vocab_size = 50;
  o.causal = causal;
  o.steps = 100;
  return o;
}

// The tiny bert (seed 0, eval mode) and an mdlm objective over its 50 tokens
// (log-linear schedule unless `schedule` says otherwise).
struct TinyMdlm {
  Backbone model;
  std::unique_ptr<Objective> objective;
  explicit TinyMdlm(const std::string& schedule = "loglinear") {
    torch::manual_seed(0);
    model = make_backbone(tiny_backbone("bert"));
    model->eval();
    ObjectiveContext ctx;
    ctx.vocab_size = 50;
    ctx.diffusion.schedule = schedule;
    objective = make_objective(ctx);
  }
};

}  // namespace unmask::test
