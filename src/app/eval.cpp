// `unmask eval ppl` and `unmask eval gen-ppl`: load the checkpoints, call the
// ELBO evaluator or the AR scorer and the diversity statistics, and assemble
// the JSON reports (`eval all` is in eval_all.cpp).
#include "unmask/app/eval.h"

#include <torch/torch.h>

#include "unmask/eval/elbo.h"
#include "unmask/eval/gen_ppl.h"
#include "unmask/eval/inputs.h"
#include "unmask/eval/mauve.h"
#include "unmask/eval/samples.h"
#include "unmask/eval/text_stats.h"
#include "unmask/util/error.h"

namespace unmask {

using Json = nlohmann::ordered_json;
using eval_detail::data_dir;
using eval_detail::read_samples;
using eval_detail::stats_json;

Json run_eval_ppl(const EvalPplRequest& q) {
  RunModel m = load_run_model(q.checkpoint, q.device, !q.no_ema, q.precision);
  if (q.discrete_T > 0) {  // MDLM Table 8: the discrete-time bound of a continuous-time model
    if (m.config.diffusion.objective != "mdlm" || m.config.diffusion.T != 0)
      throw Error("--discrete-T applies to continuous-time mdlm checkpoints (this one: diffusion.objective=" +
                  m.config.diffusion.objective + ", diffusion.T=" + std::to_string(m.config.diffusion.T) + ")");
    m.config.diffusion.T = q.discrete_T;
    m.objective = make_objective({m.config.diffusion, m.tokenizer->special(), m.tokenizer->vocab_size(), {}});
  }
  const EvalConfig& e = m.config.eval;
  ElboOptions o;
  o.split = q.split.empty() ? e.split : q.split;
  o.batch_size = q.batch_size >= 0 ? q.batch_size : e.batch_size;
  o.draws = q.draws >= 0 ? q.draws : e.draws;
  o.stride = q.stride >= 0 ? q.stride : e.stride;
  o.stride_mode = q.stride_mode.empty() ? e.stride_mode : q.stride_mode;
  o.max_rows = q.max_rows >= 0 ? q.max_rows : e.max_rows;
  o.seed = static_cast<std::uint64_t>(q.seed >= 0 ? q.seed : m.config.seed);
  o.progress = q.progress;
  const std::string data = data_dir(q.data, m.config);
  const ElboResult r = evaluate_elbo(m, data, o);
  Json j{{"ppl", r.ppl}, {"nelbo_per_token", r.nelbo_per_token}};
  j["std_error"] = r.std_error >= 0 ? Json(r.std_error) : Json(nullptr);
  j["bpb"] = r.bpb;
  j["tokens"] = r.tokens;
  j["bytes"] = r.bytes;
  j["rows"] = r.rows;
  j["per_word_ppl"] = r.per_word_ppl;
  j["nelbo_per_row"] = r.nelbo_per_row;
  j["words"] = r.words;
  j["method"] = r.method;
  j["bound"] = r.method != "exact";
  if (r.method == "monte_carlo") j["draws"] = r.draws;
  if (r.method == "discrete_sum") {
    j["T"] = m.config.diffusion.T;
    j["stride"] = r.stride;
    j["stride_mode"] = r.stride_mode;
    j["steps_evaluated"] = r.steps_evaluated;
  }
  j["objective"] = m.objective->name();
  j["split"] = o.split;
  j["data"] = data;
  j["checkpoint"] = m.dir.string();
  j["ema"] = m.ema;
  return j;
}

Json run_eval_gen_ppl(const EvalGenPplRequest& q) {
  RunModel scorer = load_run_model(q.scorer, q.device, true, q.precision);
  require_ar_scorer(scorer);  // before reading the samples: the scorer is the first thing to be wrong
  return gen_ppl_report(scorer, read_samples(q.samples, *scorer.tokenizer, q.retokenize), q.batch_size);
}

Json run_eval_mauve(const EvalMauveRequest& q) {
  if (q.samples.empty() || q.refs.empty() || q.scorer.empty())
    throw Error("eval mauve needs --samples FILE, --refs FILE and --scorer RUN (a GPT-2 imported with 'unmask import hf')");
  RunModel scorer = load_run_model(q.scorer, q.device, /*ema=*/true, q.precision);
  const auto samples = read_hypotheses(q.samples), refs = read_hypotheses(q.refs);
  MauveOptions o;
  o.buckets = q.buckets;
  o.seed = static_cast<std::uint64_t>(q.seed);
  const at::Tensor p = mauve_features(scorer, samples, q.max_text_length, q.batch_size);
  const at::Tensor r = mauve_features(scorer, refs, q.max_text_length, q.batch_size);
  Json j = mauve_report(compute_mauve(p, r, o), p.size(0), r.size(0));
  j["scorer"] = scorer.dir.string();
  j["max_text_length"] = q.max_text_length;
  return j;
}

}  // namespace unmask
