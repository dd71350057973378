// `unmask eval ppl|bleu|gen-ppl|all`: one function per subcommand; the work
// happens behind unmask/app/eval.h (torch side) and unmask/eval/bleu_run.h.
#include <iostream>

#include "commands.h"
#include "torch_commands.h"
#include "unmask/eval/bleu_run.h"
#include "unmask/util/error.h"
#include "unmask/util/text.h"

namespace unmask::cli {
namespace {

void add_bleu(CLI::App* group) {
  auto* cmd = group->add_subcommand("bleu", "Corpus BLEU / self-BLEU of samples (sacrebleu or DiffusionBERT protocol)");
  auto q = std::make_shared<BleuCliRequest>();
  cmd->add_option("--hyps", q->hyps, "hypotheses: one per line, or the JSONL of 'unmask sample --out' (its \"text\")")
      ->required();
  cmd->add_option("--refs", q->refs,
                  "reference files; sacrebleu: one stream per file, a line per hypothesis; diffusionbert: one pool")
      ->expected(1, -1);
  cmd->add_flag("--self", q->self, "self-BLEU: each hypothesis against all the other hypotheses (no --refs)");
  cmd->add_option("--protocol", q->protocol,
                  "sacrebleu (corpus BLEU) | diffusionbert (mean NLTK BLEU against the whole reference set); "
                  "default sacrebleu, diffusionbert with --self");
  cmd->add_option("--tokenize", q->tokenize, "13a | none | space; default 13a (sacrebleu), space (diffusionbert)");
  cmd->add_option("--smooth", q->smooth, "sacrebleu protocol: exp | floor | add-k | none (default exp)");
  cmd->add_option("--smooth-value", q->smooth_value, "value for floor (default 0.1) or add-k (default 1)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--effective-order", q->effective_order, "sacrebleu protocol: skip orders without hypothesis n-grams");
  cmd->add_option("--max-order", q->max_order, "highest n-gram order")->capture_default_str()->check(CLI::Range(1, 16));
  cmd->add_option("--threads", q->threads, "threads (0 = all cores); the score does not depend on it")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--per-hypothesis", q->per_hypothesis,
                "diffusionbert protocol, with --json: also each hypothesis's NLTK score (per_hypothesis)");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "print one JSON object (bleu or self_bleu on the 0-100 scale, precisions, bp, lengths)");
  on_run(cmd, [q, json] {
    const BleuReport report = run_bleu(*q);
    std::cout << (*json ? report.json.dump() : report.summary) << "\n";
  });
}

// The options that choose what `eval ppl` (and the ppl part of `eval all`) evaluates.
void add_ppl_options(CLI::App* cmd, EvalPplRequest& q) {
  cmd->add_option("--split", q.split, "split of the prepared data: train | val | test (default: eval.split)");
  cmd->add_option("--batch-size", q.batch_size, "rows per batch (default: eval.batch_size)");
  cmd->add_option("--draws", q.draws,
                  "continuous time: independent Monte-Carlo rounds over t, antithetic within a round; the standard "
                  "error comes from them (default: eval.draws)");
  cmd->add_option("--stride", q.stride, "discrete T: evaluate every stride-th step k = T, T-s, ... (default: eval.stride)");
  cmd->add_option("--stride-mode", q.stride_mode,
                  "chain: sum the KLs of the s-step chain, a bound itself (DiffusionBERT compute_elbo.py); weighted: "
                  "s x the one-step KL at each evaluated step (default: eval.stride_mode)")
      ->check(CLI::IsMember({"chain", "weighted"}));
  cmd->add_option("--discrete-T", q.discrete_T,
                  "evaluate a continuous-time mdlm checkpoint's discrete-time ELBO with T steps (MDLM's T ablation)");
  cmd->add_option("--max-rows", q.max_rows, "evaluate only the first N rows (default: eval.max_rows, 0 = all)");
  cmd->add_option("--seed", q.seed, "seed of the noise draws (default: the run's seed)");
  cmd->add_flag("--no-ema", q.no_ema, "use the raw weights even when the checkpoint has EMA weights");
}

void print_report(const nlohmann::ordered_json& j, bool json, const std::string& text) {
  std::cout << (json ? j.dump() : text) << "\n";
}

void add_ppl(CLI::App* group) {
  auto* cmd = group->add_subcommand("ppl", "ELBO perplexity of a checkpoint on a split of prepared data");
  auto q = std::make_shared<EvalPplRequest>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("--checkpoint", q->checkpoint, "run directory (its latest checkpoint) or a checkpoint directory")
      ->required();
  cmd->add_option("--data", q->data, "prepared data directory (default: data.path of the checkpoint's config)");
  add_ppl_options(cmd, *q);
  add_device_options(cmd, q->device, q->precision);
  cmd->add_flag("--json", *json, "print one JSON object (ppl, nelbo_per_token, std_error, bpb, tokens, ...)");
  on_run(cmd, [q, json] {
    const auto j = torch_commands().eval_ppl(*q);
    std::string text = std::string(j["bound"].get<bool>() ? "ELBO perplexity <= " : "perplexity = ") +
                       number_text(j["ppl"].get<double>(), 3) + "  (NELBO " + number_text(j["nelbo_per_token"].get<double>(), 4) +
                       " nats/token";
    if (j["std_error"].is_number()) text += " ± " + number_text(j["std_error"].get<double>(), 4);
    text += ", " + number_text(j["bpb"].get<double>(), 4) + " bits/byte, " + std::to_string(j["tokens"].get<long long>()) +
            " tokens, " + j["method"].get<std::string>() + "; per-word perplexity " +
            number_text(j["per_word_ppl"].get<double>(), 2) + ", " + number_text(j["nelbo_per_row"].get<double>(), 2) +
            " nats/row)";
    print_report(j, *json, text);
  });
}

void add_gen_ppl(CLI::App* group) {
  auto* cmd = group->add_subcommand("gen-ppl", "Perplexity of samples under an AR scorer, with entropy and diversity");
  auto q = std::make_shared<EvalGenPplRequest>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("--samples", q->samples, "JSONL of 'unmask sample --out', or plain text with one sample per line")
      ->required();
  cmd->add_option("--scorer", q->scorer, "an ar checkpoint (run or checkpoint directory)")->required();
  cmd->add_option("--batch-size", q->batch_size, "chunks per scoring batch")->capture_default_str();
  cmd->add_flag("--retokenize", q->retokenize,
                "score the samples' text with the scorer's tokenizer even when they were made with another one");
  add_device_options(cmd, q->device, q->precision);
  cmd->add_flag("--json", *json, "print one JSON object (gen_ppl, entropy, distinct-n, repetition, per sample)");
  on_run(cmd, [q, json] {
    const auto j = torch_commands().eval_gen_ppl(*q);
    print_report(j, *json,
                 "gen-perplexity " + number_text(j["gen_ppl"].get<double>(), 3) + "  (entropy " +
                     number_text(j["entropy"].get<double>(), 3) + " nats, distinct-4 " +
                     number_text(j["diversity"]["per_sample"]["distinct_4"].get<double>(), 3) + ", rep-4 " +
                     number_text(j["diversity"]["rep_4"].get<double>(), 3) + ", " +
                     std::to_string(j["tokens"].get<long long>()) + " tokens in " +
                     std::to_string(j["samples"].get<long long>()) + " samples)");
  });
}

void add_mauve(CLI::App* group) {
  auto* cmd = group->add_subcommand("mauve", "MAUVE of generated texts against references: GPT-2 features, PCA, "
                                             "k-means, the divergence frontier (Pillutla et al. 2021)");
  auto q = std::make_shared<EvalMauveRequest>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("--samples", q->samples, "JSONL of 'unmask sample --out', or plain text with one sample per line")
      ->required();
  cmd->add_option("--refs", q->refs, "reference texts in the same formats (e.g. held-out test documents)")->required();
  cmd->add_option("--scorer", q->scorer, "a GPT-2 imported with 'unmask import hf' (mauve-text uses gpt2-large)")
      ->required();
  cmd->add_option("--max-text-length", q->max_text_length, "tokens per text")->capture_default_str();
  cmd->add_option("--batch-size", q->batch_size, "texts per forward pass")->capture_default_str();
  cmd->add_option("--buckets", q->buckets, "k-means clusters (0: a tenth of the smaller set, at least 2)")
      ->capture_default_str();
  cmd->add_option("--seed", q->seed, "seed of the k-means starts")->capture_default_str();
  add_device_options(cmd, q->device, q->precision);
  cmd->add_flag("--json", *json, "print one JSON object (mauve, frontier_integral, mauve_star, histograms)");
  on_run(cmd, [q, json] {
    const auto j = torch_commands().eval_mauve(*q);
    print_report(j, *json,
                 "MAUVE " + number_text(j["mauve"].get<double>(), 4) + "  (MAUVE* " +
                     number_text(j["mauve_star"].get<double>(), 4) + ", " + std::to_string(j["buckets"].get<long long>()) +
                     " clusters in " + std::to_string(j["pca_dims"].get<long long>()) + " PCA dimensions, " +
                     std::to_string(j["samples"].get<long long>()) + " samples, " +
                     std::to_string(j["references"].get<long long>()) + " references)");
  });
}

void add_all(CLI::App* group) {
  auto* cmd = group->add_subcommand("all", "Samples, ELBO perplexity, BLEU, self-BLEU, gen-perplexity and entropy "
                                           "in one report (eval.json and eval.md in the run dir)");
  auto q = std::make_shared<EvalAllRequest>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("--checkpoint", q->checkpoint, "run directory (its latest checkpoint) or a checkpoint directory")
      ->required();
  cmd->add_option("--data", q->data, "prepared data directory (default: data.path of the checkpoint's config)");
  cmd->add_option("--scorer", q->scorer, "ar checkpoint for gen-ppl (default: eval.scorer; none: gen-ppl is skipped)");
  cmd->add_option("--refs", q->refs, "BLEU reference files (default: the evaluated split's documents)");
  cmd->add_option("--out", q->out, "where eval.json, eval.md and eval-samples.jsonl go (default: the run dir)");
  add_ppl_options(cmd, q->ppl);
  add_device_options(cmd, q->device, q->precision);
  cmd->add_flag("--json", *json, "print the report as one JSON object instead of the Markdown table");
  on_run(cmd, [q, json] {
    const auto j = torch_commands().eval_all(*q);
    std::cout << (*json ? j.dump() : torch_commands().eval_markdown(j));
    if (*json) std::cout << "\n";
  });
}

}  // namespace

void add_eval_commands(CLI::App& app) {
  auto* group = app.add_subcommand("eval", "Evaluate checkpoints and samples");
  group->require_subcommand(1);
  add_ppl(group);
  add_bleu(group);
  add_gen_ppl(group);
  add_mauve(group);
  add_all(group);
}

}  // namespace unmask::cli
