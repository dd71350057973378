// Objectives: the forward (corruption) process plus the loss, registered by
// name (`diffusion.objective`): mdlm, d3pm, diffusionbert, mlm,
// roberta_diffusion, ar, bd3lm. They never touch the optimiser.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "unmask/config.h"
#include "unmask/data/batch.h"
#include "unmask/diffusion/schedule.h"
#include "unmask/tokenizer/tokenizer.h"

namespace unmask {

struct Noised {
  at::Tensor x_t;     // (B, L) int64: the corrupted tokens the backbone sees
  at::Tensor cond;    // (B) float: time input of time-conditioned backbones
                      //   (σ(t) for mdlm, the step k−1 ∈ 0..T−1 for d3pm/diffusionbert, 0 otherwise)
  at::Tensor t;       // (B) float in (0, 1] (discrete: k/T); undefined for mlm/roberta_diffusion/ar
  at::Tensor masked;  // (B, L) bool: positions replaced by [MASK] (all false for ar)
  at::Tensor t_prev;  // (B) discrete time only: the time the reverse step goes down to. Undefined
                      //   = t − 1/T, and nelbo_sum is T × that one-step KL (the NELBO estimate);
                      //   set (the ELBO's s-step chain, t − s/T), nelbo_sum is that step's KL itself
  // Block diffusion (bd3lm): t is (B, L/L′), one time per block; the backbone
  // sees x_t beside the clean `context` (B, L) in blocks of `block_size`
  // (BackboneImpl::forward_blocks). Undefined / 0 for every other objective.
  at::Tensor context;
  std::int64_t block_size = 0;
};

struct LossOutput {
  at::Tensor loss;         // scalar the optimiser minimises: loss_sum / denominator
  at::Tensor loss_sum;     // scalar, with gradient: the unnormalised sum behind `loss`
  at::Tensor denominator;  // scalar: what the sum is divided by (real tokens; masked tokens for mlm)
  at::Tensor nelbo_sum;    // scalar: NELBO estimate summed over the batch (nats); undefined when not a bound
  at::Tensor tokens;       // scalar: real (non-pad) tokens it covers; NELBO per token = nelbo_sum / tokens
};
// Splitting a batch into chunks and adding their loss_sum and denominator
// gives exactly the whole batch's loss: gradient accumulation relies on it.

class Objective {
 public:
  virtual ~Objective() = default;
  virtual std::string name() const = 0;
  // What the objective is (its registration's ObjectiveTraits).
  bool causal() const;
  bool is_bound() const;
  // For samplers: the noise schedule (nullptr for mlm, roberta_diffusion, ar)
  // and the backbone's time input at times t (B) in (0, 1].
  virtual const NoiseSchedule* schedule() const { return nullptr; }
  virtual at::Tensor time_condition(const at::Tensor& t) const;

  // Samples the corruption of a batch (times drawn from `gen`).
  virtual Noised corrupt(const Batch& batch, at::Generator& gen) const = 0;
  // The corruption the NELBO estimate draws (eval ppl's Monte-Carlo rounds):
  // `corrupt`, except where training draws from a clipped range (bd3lm).
  virtual Noised corrupt_bound(const Batch& batch, at::Generator& gen) const { return corrupt(batch, gen); }
  // Block diffusion's block size L′ (0: not a block objective).
  virtual std::int64_t block_size() const { return 0; }
  // The corruption at given times t (B) in (0, 1] (discrete models: k/T),
  // masks drawn from `gen`: ELBO evaluation by the sum over steps. Error for
  // objectives without a time (mlm, roberta_diffusion, ar).
  virtual Noised corrupt_at(const Batch& batch, const at::Tensor& t, at::Generator& gen) const;
  // Loss of the backbone's logits (B, L, V) for that corruption.
  virtual LossOutput loss(const at::Tensor& logits, const Batch& batch, const Noised& noised) const = 0;
  // Whether `loss` reads the logits at the masked positions only; then
  // `loss_rows` takes just those rows, and the backbone need not compute the
  // others (BackboneImpl::forward_rows, model_loss.h).
  virtual bool masked_rows_only() const { return false; }
  // `loss` from the rows (M, V) at noised.masked, in row-major order (M =
  // masked count). Error unless masked_rows_only().
  virtual LossOutput loss_rows(const at::Tensor& rows, const Batch& batch, const Noised& noised) const;
};

struct ObjectiveContext {
  DiffusionConfig diffusion;
  SpecialTokens special;
  std::int64_t vocab_size = 0;
  at::Tensor token_weights;  // (V): spindle schedule only
};

// What an objective is, known from its name before one is built (the model's
// vocabulary and attention depend on it).
struct ObjectiveTraits {
  bool causal = false;  // predicts left to right (causal attention, next-token targets)
  bool bound = true;    // nelbo_sum is a likelihood bound (for ar, the exact NLL)
  bool blocks = false;  // block diffusion: generated block by block (diffusion.block_size)
};

std::unique_ptr<Objective> make_objective(const ObjectiveContext& context);
std::vector<std::string> objective_names();
ObjectiveTraits objective_traits(const std::string& name);  // Error for an unknown name
std::vector<std::string> bound_objective_names();

}  // namespace unmask
