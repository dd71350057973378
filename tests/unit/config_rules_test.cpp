// Cross-key config rules: every bad combination gets a clear error naming the keys.
#include <gtest/gtest.h>

#include "unmask/config.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

std::string error_for(const std::vector<std::string>& sets) {
  try {
    validate_run_config(load_config({}, sets));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigRules, DefaultsAreValid) { EXPECT_EQ(error_for({}), ""); }

TEST(ConfigRules, BadCombinationsNameTheirKeys) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"model.hidden=770"}, "model.hidden (770) must be divisible by model.heads (12)"},
      {{"diffusion.objective=d3pm", "diffusion.schedule=d3pm"}, "is discrete-time: set diffusion.T >= 1 (got 0)"},
      {{"diffusion.T=-1"}, "diffusion.T must be >= 0"},
      {{"diffusion.schedule=spindle", "diffusion.T=10"}, "diffusion.schedule=spindle goes with the D3PM loss"},
      {{"diffusion.objective=diffusionbert", "diffusion.schedule=d3pm", "diffusion.T=10"}, "uses the spindle schedule"},
      {{"diffusion.objective=diffusionbert", "diffusion.schedule=spindle", "diffusion.T=10",
        "diffusion.spindle_lambda=0.4"},
       "diffusion.spindle_lambda must be in [0, 1/pi"},
      {{"diffusion.hybrid_lambda=-0.5"}, "diffusion.hybrid_lambda must be >= 0"},
      {{"diffusion.eps=0"}, "diffusion.eps must be in (0, 1)"},
      {{"diffusion.mask_ratio=1.5"}, "diffusion.mask_ratio must be in (0, 1]"},
      {{"model.backbone=bert", "model.time_conditioning=adaln"}, "does not apply to model.backbone=bert"},
      {{"model.time_conditioning=prefix"}, "does not apply to model.backbone=dit"},
      {{"model.backbone=bert", "model.max_length=64", "data.length=128"}, "model.max_length (64) must cover"},
      {{"diffusion.objective=ar", "model.time_conditioning=adaln"}, "diffusion.objective=ar is not time-conditioned"},
      {{"model.dropout=1.0"}, "model.dropout must be in [0, 1)"},
      {{"diffusion.prompt_length=200"}, "diffusion.prompt_length must be in [0, data.length"},
      {{"diffusion.objective=bd3lm", "diffusion.block_size=5"}, "needs diffusion.block_size >= 1 dividing data.length (128)"},
      {{"diffusion.objective=bd3lm"}, "needs diffusion.block_size >= 1 dividing data.length (128), got 0"},
      {{"diffusion.objective=bd3lm", "diffusion.block_size=16", "diffusion.T=100"}, "bd3lm is continuous-time"},
      {{"diffusion.objective=bd3lm", "diffusion.block_size=16", "diffusion.clip_min=0.8", "diffusion.clip_max=0.5"},
       "must satisfy 0 <= clip_min < clip_max <= 1"},
      {{"diffusion.objective=bd3lm", "diffusion.block_size=16", "diffusion.clip_search=true", "train.val_batches=0"},
       "diffusion.clip_search chooses the clip range on validation batches"},
      {{"diffusion.clip_search=true"}, "diffusion.clip_search applies to diffusion.objective=bd3lm"},
      {{"diffusion.objective=bd3lm", "diffusion.block_size=16", "model.backbone=gpt2"}, "gpt2 is a causal decoder"},
      {{"model.backbone=gpt2"}, "model.backbone=gpt2 is a causal decoder: it needs diffusion.objective=ar"},
      {{"model.variant=roberta"}, "model.variant=roberta applies to model.backbone=bert only"},
      {{"model.vocab_size=-3"}, "model.vocab_size must be >= 0"},
  };
  for (const auto& [sets, want] : cases) {
    const std::string e = error_for(sets);
    EXPECT_NE(e.find(want), std::string::npos) << "got: '" << e << "' want: '" << want << "'";
  }
  // Unknown objective names are caught by the key's allowed values.
  try {
    load_config({}, {"diffusion.objective=sedd"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'sedd' is not valid (valid: mdlm, d3pm, diffusionbert"), std::string::npos);
  }
}

}  // namespace
}  // namespace unmask
