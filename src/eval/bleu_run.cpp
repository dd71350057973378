// `unmask eval bleu`: files in, protocol defaults and option checks, one
// report out (JSON object and a sacrebleu-style summary line).
#include "unmask/eval/bleu_run.h"

#include <fmt/format.h>

#include <chrono>

#include "unmask/eval/bleu.h"
#include "unmask/eval/inputs.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

std::string precision_string(const std::vector<double>& precisions) {
  std::string s;
  for (double p : precisions) s += (s.empty() ? "" : "/") + fmt::format("{:.1f}", p);
  return s;
}

}  // namespace

BleuReport run_bleu(const BleuCliRequest& q) {
  const auto start = std::chrono::steady_clock::now();
  const BleuProtocol protocol = q.protocol.empty() ? (q.self ? BleuProtocol::kDiffusionBert : BleuProtocol::kSacrebleu)
                                                   : parse_bleu_protocol(q.protocol);
  const bool sacre = protocol == BleuProtocol::kSacrebleu;
  BleuOptions o;
  o.tokenizer = q.tokenize.empty() ? (sacre ? BleuTokenizer::k13a : BleuTokenizer::kSpace)
                                   : parse_bleu_tokenizer(q.tokenize);
  if (!q.smooth.empty()) o.smooth = parse_bleu_smooth(q.smooth);
  if (!sacre && (!q.smooth.empty() || q.smooth_value >= 0 || q.effective_order))
    throw Error("--smooth, --smooth-value and --effective-order apply to --protocol sacrebleu only (the diffusionbert "
                "protocol is NLTK corpus_bleu without smoothing)");
  if (q.smooth_value >= 0 && o.smooth != BleuSmooth::kFloor && o.smooth != BleuSmooth::kAddK)
    throw Error(std::string("--smooth-value applies to --smooth floor or add-k, not ") + bleu_smooth_name(o.smooth));
  if (!sacre) o.smooth = BleuSmooth::kNone;
  o.smooth_value = q.smooth_value;
  o.effective_order = q.effective_order;
  o.max_order = q.max_order;
  o.threads = q.threads;
  if (sacre && q.per_hypothesis)
    throw Error("--per-hypothesis applies to --protocol diffusionbert (sacrebleu's BLEU is one corpus-level score)");
  if (q.self && !q.refs.empty())
    throw Error("--self scores the hypotheses against each other; drop --refs (or drop --self to score against them)");
  if (!q.self && q.refs.empty()) throw Error("--refs is required (one or more reference files), unless --self is given");

  const std::vector<std::string> hyps = read_hypotheses(q.hyps);
  std::vector<std::vector<std::string>> streams;
  for (const auto& f : q.refs) streams.push_back(read_text_lines(f, "reference file"));
  if (sacre)
    for (std::size_t k = 0; k < streams.size(); ++k)
      if (streams[k].size() != hyps.size())
        throw Error(fmt::format("reference file {} has {} lines but {} has {} hypotheses (the sacrebleu protocol "
                                "needs one reference line per hypothesis in every --refs file; use --protocol "
                                "diffusionbert to score against a pool of references)",
                                q.refs[k], streams[k].size(), q.hyps, hyps.size()));
  std::size_t num_refs = 0;
  std::vector<std::string> pool;
  for (const auto& s : streams) num_refs += s.size();
  if (!sacre && !q.self) {
    pool.reserve(num_refs);
    for (auto& s : streams) pool.insert(pool.end(), std::make_move_iterator(s.begin()), std::make_move_iterator(s.end()));
    if (pool.empty()) throw Error("the reference files are empty (the diffusionbert protocol needs at least one line)");
  }

  BleuScore s;
  if (q.self) s = sacre ? sacrebleu_self_bleu(hyps, o) : diffusionbert_self_bleu(hyps, o);
  else s = sacre ? corpus_bleu(hyps, streams, o) : diffusionbert_bleu(hyps, pool, o);

  const std::string key = q.self ? "self_bleu" : "bleu";
  const double smooth_value = o.smooth_value >= 0 ? o.smooth_value : default_smooth_value(o.smooth);
  BleuReport r;
  auto& j = r.json;
  j[key] = s.score;
  double nltk_mean = 0.0;  // NLTK's 0–1 scale, as DiffusionBERT's tables print it (same sum as its loop)
  for (double v : s.sentence_scores) nltk_mean += v;
  if (!s.sentence_scores.empty()) nltk_mean /= static_cast<double>(s.sentence_scores.size());
  if (!sacre) j[key + "_nltk"] = nltk_mean;
  j["precisions"] = s.precisions;
  j["bp"] = s.bp;
  j["sys_len"] = s.sys_len;
  j["ref_len"] = s.ref_len;
  j["ratio"] = s.ref_len > 0 ? static_cast<double>(s.sys_len) / static_cast<double>(s.ref_len) : 0.0;
  j["counts"] = s.counts;
  j["totals"] = s.totals;
  j["protocol"] = bleu_protocol_name(protocol);
  j["tokenize"] = bleu_tokenizer_name(o.tokenizer);
  j["smooth"] = bleu_smooth_name(o.smooth);
  if (o.smooth == BleuSmooth::kFloor || o.smooth == BleuSmooth::kAddK) j["smooth_value"] = smooth_value;
  j["effective_order"] = o.effective_order;
  j["max_order"] = o.max_order;
  j["hypotheses"] = hyps.size();
  j["references"] = q.self ? hyps.size() - 1 : num_refs;
  if (sacre && !q.self) j["ref_streams"] = streams.size();
  j["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();  // files read + scoring
  if (q.per_hypothesis) j["per_hypothesis"] = s.sentence_scores;  // NLTK 0–1, in file order

  const std::string name = q.self ? "Self-BLEU" : "BLEU";
  if (sacre) {
    // sacrebleu's text format: score, precisions, BP, ratio, lengths; then the settings.
    std::string smooth = bleu_smooth_name(o.smooth);
    if (j.contains("smooth_value")) smooth += fmt::format("[{:.2f}]", smooth_value);
    const std::string refs = q.self ? "nrefs:all-others" : fmt::format("nrefs:{}", streams.size());
    r.summary = fmt::format("{}|{}|case:mixed|eff:{}|tok:{}|smooth:{} = {:.2f} {} (BP = {:.3f} ratio = {:.3f} "
                            "hyp_len = {} ref_len = {})",
                            name, refs, o.effective_order ? "yes" : "no", bleu_tokenizer_name(o.tokenizer), smooth,
                            s.score, precision_string(s.precisions), s.bp, j["ratio"].get<double>(), s.sys_len,
                            s.ref_len);
  } else {
    r.summary = fmt::format("{}|diffusionbert|tok:{}|nltk-bleu-{} = {:.2f} (NLTK {:.4f}; mean of {} hypotheses "
                            "against {} {}) mean precisions {} mean BP = {:.3f} hyp_len = {} ref_len = {}",
                            name, bleu_tokenizer_name(o.tokenizer), o.max_order, s.score, nltk_mean, hyps.size(),
                            q.self ? hyps.size() - 1 : num_refs, q.self ? "other hypotheses each" : "references",
                            precision_string(s.precisions), s.bp, s.sys_len, s.ref_len);
  }
  return r;
}

}  // namespace unmask
