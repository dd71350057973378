// Cross-key validation of a resolved RunConfig (docs/MODELS.md, "Config rules"): what the
// per-key schema cannot see on its own.
#include <fmt/format.h>

#include <cmath>

#include "unmask/config.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw Error(message);
}

bool one_of(const std::string& v, std::initializer_list<const char*> options) {
  for (const char* o : options)
    if (v == o) return true;
  return false;
}

}  // namespace

void validate_run_config(const RunConfig& c) {
  const ModelConfig& m = c.model;
  const DiffusionConfig& d = c.diffusion;
  require(m.hidden >= 1 && m.layers >= 1 && m.heads >= 1 && m.cond_dim >= 1,
          "model.hidden, model.layers, model.heads and model.cond_dim must be at least 1");
  require(m.hidden % m.heads == 0,
          fmt::format("model.hidden ({}) must be divisible by model.heads ({})", m.hidden, m.heads));
  if (m.backbone == "dit")
    require((m.hidden / m.heads) % 2 == 0,
            fmt::format("model.backbone=dit needs an even head size for rotary embeddings; model.hidden/model.heads "
                        "= {}",
                        m.hidden / m.heads));
  require(m.mlp_ratio > 0, "model.mlp_ratio must be positive");
  require(m.dropout >= 0 && m.dropout < 1, fmt::format("model.dropout must be in [0, 1), got {}", m.dropout));
  require(c.data.length >= 3, fmt::format("data.length must be at least 3 (BOS, a token, EOS), got {}", c.data.length));
  const std::int64_t positions = c.data.length + (m.time_conditioning == "prefix" ? 1 : 0);
  if (m.backbone == "bert")
    require(m.max_length >= positions,
            fmt::format("model.max_length ({}) must cover data.length ({}){}", m.max_length, c.data.length,
                        m.time_conditioning == "prefix" ? " plus the prefix time token" : ""));

  if (m.backbone == "bert")
    require(one_of(m.time_conditioning, {"none", "layerwise", "prefix"}),
            "model.time_conditioning=" + m.time_conditioning +
                " does not apply to model.backbone=bert (valid: none, layerwise, prefix)");
  else if (m.backbone == "dit")
    require(one_of(m.time_conditioning, {"none", "adaln"}),
            "model.time_conditioning=" + m.time_conditioning +
                " does not apply to model.backbone=dit (valid: none, adaln)");
  if (m.backbone == "gpt2") {
    require(m.time_conditioning == "none",
            "model.time_conditioning=" + m.time_conditioning + " does not apply to model.backbone=gpt2 (valid: none)");
    require(c.diffusion.objective == "ar", "model.backbone=gpt2 is a causal decoder: it needs diffusion.objective=ar (got " +
                                               c.diffusion.objective + ")");
    require(m.max_length >= c.data.length,
            fmt::format("model.max_length ({}) must cover data.length ({})", m.max_length, c.data.length));
  }
  require(m.variant == "bert" || m.backbone == "bert",
          "model.variant=" + m.variant + " applies to model.backbone=bert only (leave it at bert)");
  require(m.vocab_size >= 0, fmt::format("model.vocab_size must be >= 0 (0 = the tokenizer's), got {}", m.vocab_size));

  require(d.T >= 0, fmt::format("diffusion.T must be >= 0 (0 = continuous time), got {}", d.T));
  const bool discrete_only = one_of(d.objective, {"d3pm", "diffusionbert"});
  if (discrete_only)
    require(d.T >= 1, fmt::format("diffusion.objective={} is discrete-time: set diffusion.T >= 1 (got {})",
                                  d.objective, d.T));
  if (d.schedule == "spindle") {
    require(discrete_only, "diffusion.schedule=spindle goes with the D3PM loss: use diffusion.objective=diffusionbert "
                           "(or d3pm), not " + d.objective);
  }
  if (d.objective == "diffusionbert")
    require(d.schedule == "spindle", "diffusion.objective=diffusionbert uses the spindle schedule: set "
                                     "diffusion.schedule=spindle (or use diffusion.objective=d3pm for " +
                                         d.schedule + ")");
  if (d.objective == "bd3lm") {
    require(d.block_size >= 1 && c.data.length % d.block_size == 0,
            fmt::format("diffusion.objective=bd3lm needs diffusion.block_size >= 1 dividing data.length ({}), got {}",
                        c.data.length, d.block_size));
    require(d.T == 0, fmt::format("diffusion.objective=bd3lm is continuous-time: set diffusion.T=0 (got {})", d.T));
    require(d.schedule != "spindle", "diffusion.objective=bd3lm needs a token-independent schedule (not spindle)");
    require(0 <= d.clip_min && d.clip_min < d.clip_max && d.clip_max <= 1,
            fmt::format("diffusion.clip_min and clip_max must satisfy 0 <= clip_min < clip_max <= 1, got [{}, {}]",
                        d.clip_min, d.clip_max));
    require(m.time_conditioning != "prefix",
            "diffusion.objective=bd3lm cannot use model.time_conditioning=prefix (it inserts a token)");
    require(!d.clip_search || c.train.val_batches >= 1,
            "diffusion.clip_search chooses the clip range on validation batches: set train.val_batches >= 1");
  }
  require(!d.clip_search || d.objective == "bd3lm", "diffusion.clip_search applies to diffusion.objective=bd3lm");
  require(d.eps > 0 && d.eps < 1, fmt::format("diffusion.eps must be in (0, 1), got {}", d.eps));
  require(d.hybrid_lambda >= 0, fmt::format("diffusion.hybrid_lambda must be >= 0, got {}", d.hybrid_lambda));
  const double max_spindle = 1.0 / M_PI;
  require(d.spindle_lambda >= 0 && d.spindle_lambda < max_spindle,
          fmt::format("diffusion.spindle_lambda must be in [0, 1/pi = {:.4f}) so that the keep probability "
                      "decreases in t, got {}",
                      max_spindle, d.spindle_lambda));
  require(d.mask_ratio > 0 && d.mask_ratio <= 1, fmt::format("diffusion.mask_ratio must be in (0, 1], got {}", d.mask_ratio));
  require(d.prompt_length >= 0 && d.prompt_length < c.data.length,
          fmt::format("diffusion.prompt_length must be in [0, data.length = {}), got {}", c.data.length, d.prompt_length));
  const TrainConfig& t = c.train;
  require(t.batch_size >= 1 && t.grad_accum >= 1 && t.batch_size % t.grad_accum == 0,
          fmt::format("train.batch_size ({}) must be a positive multiple of train.grad_accum ({})", t.batch_size,
                      t.grad_accum));
  require(t.max_steps >= 1, "train.max_steps must be at least 1");
  require(!c.data.pad_loss || c.data.mode == "pad",
          "data.pad_loss=true applies to data.mode=pad (wrap rows have no padding)");
  require(c.dist.port >= 1 && c.dist.port <= 65535, fmt::format("dist.port must be a TCP port (1-65535), got {}", c.dist.port));
  require(c.dist.timeout_s >= 1, fmt::format("dist.timeout_s must be at least 1, got {}", c.dist.timeout_s));
  require(c.dist.bucket_mb > 0, fmt::format("dist.bucket_mb must be positive, got {}", c.dist.bucket_mb));
  require(t.lr > 0, fmt::format("train.lr must be positive, got {}", t.lr));
  require(t.warmup_steps >= 0, "train.warmup_steps must be >= 0");
  require(t.ema >= 0 && t.ema < 1, fmt::format("train.ema must be in [0, 1) (0 = off), got {}", t.ema));
  require(t.log_every >= 1 && t.eval_every >= 1 && t.checkpoint_every >= 1 && t.val_batches >= 0,
          "train.log_every, train.eval_every and train.checkpoint_every must be at least 1");
  require(t.max_nonfinite >= 1, "train.max_nonfinite must be at least 1");
  require(t.sample_every >= 0, "train.sample_every must be >= 0 (0 = off)");
  require(c.sample.steps >= 1, fmt::format("sample.steps must be at least 1, got {}", c.sample.steps));
  require(c.sample.temperature > 0, "sample.temperature must be positive");
  require(c.sample.top_k >= 0, "sample.top_k must be >= 0 (0 = off)");
  require(c.sample.top_p > 0 && c.sample.top_p <= 1, fmt::format("sample.top_p must be in (0, 1], got {}", c.sample.top_p));
  require(c.sample.num >= 1 && c.sample.length >= 2, "sample.num must be >= 1 and sample.length >= 2");
  require(t.threads >= 0, "train.threads must be >= 0 (0 = LibTorch's default)");
  require(c.optim.beta1 >= 0 && c.optim.beta1 < 1 && c.optim.beta2 >= 0 && c.optim.beta2 < 1,
          "optim.beta1 and optim.beta2 must be in [0, 1)");
  require(c.optim.weight_decay >= 0 && c.optim.grad_clip >= 0 && c.optim.eps > 0,
          "optim.weight_decay and optim.grad_clip must be >= 0 and optim.eps > 0");
  require(c.eval.batch_size >= 1 && c.eval.draws >= 1 && c.eval.stride >= 1 && c.eval.max_rows >= 0 &&
              c.eval.num_refs >= 1,
          "eval.batch_size, eval.draws, eval.stride and eval.num_refs must be at least 1, eval.max_rows at least 0");
  require(c.checkpoint.keep_last >= 1 && c.checkpoint.keep_every >= 0,
          "checkpoint.keep_last must be at least 1 and checkpoint.keep_every >= 0");
  if (d.objective == "ar") {
    require(m.time_conditioning == "none", "diffusion.objective=ar is not time-conditioned: set "
                                           "model.time_conditioning=none");
    require(!c.sample.mask_bos, "sample.mask_bos applies to diffusion models: diffusion.objective=ar decodes after BOS");
  }
}

}  // namespace unmask
