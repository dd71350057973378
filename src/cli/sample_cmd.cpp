// `unmask sample`: flags → SampleCliRequest; the samples printed as text or
// written as JSONL.
#include <iostream>

#include "commands.h"
#include "torch_commands.h"
#include "unmask/samplers.h"
#include "unmask/util/fs.h"

namespace unmask::cli {

void add_sample_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("sample", "Sample text from a checkpoint by iterative denoising");
  auto r = std::make_shared<SampleCliRequest>();
  cmd->add_option("--checkpoint", r->checkpoint, "run directory (its latest checkpoint) or a checkpoint directory")
      ->required();
  cmd->add_option("--num", r->num, "number of samples (default: sample.num)");
  cmd->add_option("--length", r->length, "tokens per sample, BOS included (default: sample.length)");
  cmd->add_option("--steps", r->steps, "denoising steps (default: sample.steps)");
  std::string samplers_help = sampler_list(0, " | ") + " (default: sample.sampler):";
  for (const auto& spec : sampler_specs()) samplers_help += std::string("\n  ") + spec.name + ": " + spec.summary;
  cmd->add_option("--sampler", r->sampler, samplers_help);
  cmd->add_option("--block-size", r->block_size, "semi_ar: tokens per block")->capture_default_str();
  cmd->add_option("--inner", r->inner, "semi_ar: the sampler inside each block, " + sampler_list(kInsideSemiAr, " | "))
      ->capture_default_str();
  cmd->add_option("--semi-ar-style", r->semi_ar_style,
                  "semi_ar: llada (blocks share --steps) | mdlm (the first window jointly, then each block, each "
                  "with all --steps: MDLM's semi-AR sampler) (default: sample.semi_ar_style)");
  cmd->add_flag("--mask-bos", r->mask_bos,
                "start from an all-[MASK] canvas, BOS included, as MDLM does (default: sample.mask_bos)");
  cmd->add_option("--confidence", r->confidence, "confidence sampler: maxprob | margin | entropy")->capture_default_str();
  cmd->add_option("--k-schedule", r->k_schedule, "confidence sampler: linear | cosine")->capture_default_str();
  cmd->add_flag("--remask", r->remask,
                "confidence sampler: re-score revealed tokens every step and re-mask the least confident "
                "(Mask-Predict)");
  cmd->add_option("--unmask", r->unmask,
                  "confidence sampler: how many positions a step reveals: schedule (--k-schedule over --steps) | "
                  "threshold (every position with p(token) >= --threshold, at least one; Fast-dLLM) | factor "
                  "(Fast-dLLM's factor rule with --factor); with threshold and factor --steps is not used: a span "
                  "ends when no [MASK] is left")
      ->capture_default_str();
  cmd->add_option("--threshold", r->threshold, "--unmask threshold: τ in (0, 1]")->capture_default_str();
  cmd->add_option("--factor", r->factor, "--unmask factor: f > 0")->capture_default_str();
  cmd->add_option("--remdm", r->remdm,
                  "remdm sampler: how decoded tokens are remasked: cap (σ = min(η, σ_max)) | rescale (σ = η σ_max) | "
                  "conf (σ by the tokens' confidence at reveal) | loop (remask at α = --alpha-on between --t-off "
                  "and --t-on)")
      ->capture_default_str();
  cmd->add_option("--eta", r->eta, "remdm: η (default: cap 0.008, rescale 0.015, loop 0.02; conf uses none)");
  cmd->add_option("--t-on", r->t_on, "remdm loop: the remasking phase starts at t = t_on")->capture_default_str();
  cmd->add_option("--t-off", r->t_off, "remdm loop: and ends at t = t_off")->capture_default_str();
  cmd->add_option("--alpha-on", r->alpha_on, "remdm loop: α held during the remasking phase")->capture_default_str();
  cmd->add_option("--cache", r->cache,
                  "semi_ar over a bert/dit model: none | prefix | dual (Fast-dLLM). A block's first call is a full "
                  "pass that keeps every position's keys/values; later calls recompute the block and what follows "
                  "it (prefix) or the block only (dual). Approximate: attention runs both ways, so the kept "
                  "keys/values miss the block's later reveals (docs/DECODING.md). bd3lm and ar keep their exact "
                  "cache (--no-kv-cache)")
      ->capture_default_str();
  cmd->add_option("--cache-refresh", r->cache_refresh,
                  "--cache prefix|dual: every N-th call in a block is a full pass again (0: only the block's first; "
                  "1: every call, the uncached tokens)")
      ->capture_default_str();
  cmd->add_option("--prompt", r->prompt,
                  "text every sample starts with (never changed); [MASK:n] marks n tokens to infill, e.g. "
                  "'The [MASK:5] sat on the mat.'");
  cmd->add_option("--prompt-file", r->prompt_file,
                  "file with one prompt per line (same [MASK:n] syntax); sample i uses line i mod P, and --num "
                  "defaults to P");
  cmd->add_option("--temperature", r->temperature, "softmax temperature (0: the most likely token)");
  cmd->add_option("--top-k", r->top_k, "keep the k most likely tokens (0 = off)");
  cmd->add_option("--top-p", r->top_p, "nucleus mass in (0, 1] (1 = off)");
  cmd->add_option("--filter", r->filter,
                  "what temperature/top-k/top-p apply to: x0 (the x0 prediction) | reverse (the ancestral reverse "
                  "step with [MASK] as an outcome, DiffusionBERT's decoding) (default: sample.filter)");
  cmd->add_option("--seed", r->seed, "seed of the per-sample random streams (default: the run's seed)");
  cmd->add_option("--out", r->out, "write JSONL (text, ids, seed, sampler, steps, nfe, seconds) instead of text");
  add_device_options(cmd, r->device, r->precision);
  cmd->add_flag("--deterministic", r->deterministic,
                "fp32 and deterministic kernels (torch's deterministic algorithms, a fixed cuBLAS workspace, no "
                "TF32): the same request gives the same tokens on every run on one GPU; the CPU is deterministic "
                "anyway. It does not make a sample independent of its batch on a GPU (docs/SAMPLING.md)");
  cmd->add_flag("--cuda-graph", r->cuda_graph,
                "replay from a CUDA graph the whole step (" + sampler_list(kWholeStepGraph) +
                    ") or the denoiser call (the others) (CUDA only)");
  cmd->add_flag("--no-kv-cache", r->no_kv_cache,
                "bd3lm and ar: recompute the finished prefix every call instead of attending to its cached keys and "
                "values (the same tokens, slower)");
  cmd->add_flag("--no-ema", r->no_ema, "use the raw weights even when the checkpoint has EMA weights");
  cmd->add_option("--draw", r->draw,
                  "how tokens are drawn: exact (float64 inverse CDF) | gumbel64 | gumbel32 (MDLM's Gumbel-max in "
                  "float32: truncated noise, lower entropy; to reproduce Zheng et al., not for use)")
      ->capture_default_str();
  auto show_steps = std::make_shared<bool>(false);
  cmd->add_flag("--show-steps", *show_steps, "print the first sample's canvas after every step (stderr)");
  on_run(cmd, [r, show_steps] {
    if (*show_steps)
      r->on_step = [](std::int64_t step, const std::string& canvas) {
        std::cerr << "step " << step << ": " << canvas << "\n";
      };
    const SampleOutput out = torch_commands().sample(*r);
    if (!r->out.empty()) {
      write_file_atomic(r->out, sample_jsonl(out));
      return;
    }
    for (const auto& row : out.rows) std::cout << row.text << "\n";
  });
}

}  // namespace unmask::cli
