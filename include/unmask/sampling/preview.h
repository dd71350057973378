// Samples for the trainer's periodic printout: ancestral unmasking for the
// masked objectives (MDLM `ddpm`, D3PM; the linear schedule for mlm and
// roberta_diffusion) and left-to-right decoding for ar. Each sample draws
// from its own random stream (seeded from the seed and its index), so sample
// i does not depend on the others. The full sampler family is `unmask sample`.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "unmask/diffusion/objective.h"
#include "unmask/model/backbone.h"
#include "unmask/sampling/token_picker.h"
#include "unmask/tokenizer/tokenizer.h"

namespace unmask {

struct PreviewRequest {
  std::int64_t num = 2;
  std::int64_t length = 64;   // BOS included
  std::int64_t steps = 64;    // denoising steps (masked objectives)
  PickerOptions picker;
  std::uint64_t seed = 0;
};

struct PreviewResult {
  at::Tensor ids;             // (num, length) int64 on the CPU
  std::int64_t network_calls = 0;
};

PreviewResult sample_preview(BackboneImpl& model, const Objective& objective, const SpecialTokens& special,
                             const PreviewRequest& request);

// Text of a sampled row, BOS dropped: cut at the first EOS, or (for rows of
// packed documents) every EOS shown as " [EOS] ".
std::string decode_sample(const Tokenizer& tokenizer, const at::Tensor& row, bool cut_at_eos);

}  // namespace unmask
