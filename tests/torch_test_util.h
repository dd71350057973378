// Helpers for the LibTorch test suite: a tiny backbone configuration.
#pragma once

#include <string>

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

}  // namespace unmask::test
