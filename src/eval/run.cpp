// `unmask eval ppl|gen-ppl|all`: load checkpoints, read samples, call the ELBO
// evaluator, the AR scorer, BLEU and the diversity statistics, and assemble
// the JSON reports (and the Markdown table of `eval all`).
#include "unmask/eval/run.h"

#include <torch/torch.h>

#include <cmath>
#include <fstream>

#include "unmask/data/dataset.h"
#include "unmask/eval/bleu.h"
#include "unmask/eval/elbo.h"
#include "unmask/eval/gen_ppl.h"
#include "unmask/eval/text_stats.h"
#include "unmask/sampling/run.h"
#include "unmask/util/error.h"
#include "unmask/util/fs.h"
#include "unmask/train/checkpoint.h"
#include "unmask/util/log.h"

namespace unmask {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

std::string data_dir(const std::string& requested, const RunConfig& config) {
  const std::string dir = requested.empty() ? config.data.path : requested;
  if (dir.empty()) throw Error("no --data given and the checkpoint's config has no data.path");
  return dir;
}

// A sample to score: its ids under the scorer's tokenizer (no BOS; up to and
// including the first EOS when the sampler's ids are used) and the tokens its
// diversity statistics count (EOS and PAD left out).
struct ScoredSample {
  std::vector<std::int64_t> ids, content;
};

std::vector<ScoredSample> read_samples(const fs::path& path, const Tokenizer& scorer_tokenizer, bool retokenize) {
  std::ifstream in(path);
  if (!in) throw Error("cannot read the samples file " + path.string());
  const SpecialTokens& sp = scorer_tokenizer.special();
  const bool jsonl = path.extension() == ".jsonl";
  std::vector<ScoredSample> out;
  std::size_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty()) continue;
    ScoredSample s;
    std::string text = line;
    if (jsonl) {
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const std::exception&) {
        throw Error(path.string() + ":" + std::to_string(line_no) + ": not a JSON object (expected 'unmask sample --out' lines)");
      }
      if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
        throw Error(path.string() + ":" + std::to_string(line_no) + ": no \"text\" field (expected 'unmask sample --out' lines)");
      text = j["text"].get<std::string>();
      const bool same = j.contains("tokenizer") && j["tokenizer"] == scorer_tokenizer.fingerprint();
      if (j.contains("tokenizer") && !same && !retokenize)
        throw Error("the samples in " + path.string() + " were made with tokenizer " +
                    j["tokenizer"].get<std::string>().substr(0, 12) + "… but the scorer uses " +
                    scorer_tokenizer.fingerprint().substr(0, 12) +
                    "…; pass --retokenize to score their text with the scorer's tokenizer");
      if (same && !retokenize && j.contains("ids")) {
        const auto ids = j["ids"].get<std::vector<std::int64_t>>();
        for (std::size_t i = 1; i < ids.size(); ++i) {  // ids[0] is BOS
          if (ids[i] == sp.pad) continue;
          s.ids.push_back(ids[i]);
          if (ids[i] == sp.eos) break;  // tokens after the first EOS are not scored
          s.content.push_back(ids[i]);
        }
        out.push_back(std::move(s));
        continue;
      }
    }
    for (int id : scorer_tokenizer.encode(text)) s.ids.push_back(id);
    s.content = s.ids;
    out.push_back(std::move(s));
  }
  if (out.empty()) throw Error("the samples file " + path.string() + " has no samples");
  return out;
}

// BLEU segments are lines: samples and documents with line breaks become one line.
std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

Json stats_json(const TextStats& st) {
  Json distinct = Json::object(), corpus = Json::object();
  for (int n = 1; n <= kTextStatsMaxOrder; ++n) {
    distinct["distinct_" + std::to_string(n)] = st.mean_distinct[static_cast<std::size_t>(n - 1)];
    corpus["distinct_" + std::to_string(n)] = st.corpus_distinct[static_cast<std::size_t>(n - 1)];
  }
  return Json{{"entropy", st.mean_entropy}, {"rep_4", st.mean_rep4}, {"per_sample", distinct}, {"corpus", corpus}};
}

Json bleu_json(const BleuScore& s, const std::string& key) {
  return Json{{key, s.score}, {"precisions", s.precisions}, {"bp", s.bp}, {"sys_len", s.sys_len}, {"ref_len", s.ref_len}};
}

}  // namespace

Json run_eval_ppl(const EvalPplRequest& q) {
  CheckpointModel m = load_checkpoint_model(q.checkpoint, q.device, q.no_ema);
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
  j["per_word_ppl_diffusionbert"] = r.per_word_ppl;
  j["words"] = r.words;
  j["method"] = r.method;
  j["bound"] = r.method != "exact";
  if (r.method == "monte_carlo") j["draws"] = r.draws;
  if (r.method == "discrete_sum") {
    j["T"] = m.config.diffusion.T;
    j["stride"] = r.stride;
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
  CheckpointModel scorer = load_checkpoint_model(q.scorer, q.device, false);
  if (!scorer.objective->causal())
    throw Error("the scorer " + scorer.dir.string() + " was trained with diffusion.objective=" +
                scorer.objective->name() + "; gen-ppl needs an autoregressive (ar) checkpoint");
  const auto samples = read_samples(q.samples, *scorer.tokenizer, q.retokenize);
  std::vector<std::vector<std::int64_t>> ids, content;
  for (const auto& s : samples) {
    ids.push_back(s.ids);
    content.push_back(s.content);
  }
  const GenPplResult g = score_samples(scorer, ids, q.batch_size);
  const TextStats st = text_stats(content);
  Json j{{"gen_ppl", g.gen_ppl}, {"entropy", st.mean_entropy}, {"nll_per_token", g.nll_per_token},
         {"tokens", g.tokens}, {"samples", static_cast<std::int64_t>(samples.size())}};
  double mean = 0;
  for (double p : g.sample_ppl) mean += p / static_cast<double>(g.sample_ppl.size());
  j["mean_sample_ppl"] = mean;
  j["diversity"] = stats_json(st);
  j["scorer"] = scorer.dir.string();
  j["scorer_context"] = g.context;
  j["per_sample"] = Json::array();
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const SampleTextStats& s = st.per_sample[i];
    j["per_sample"].push_back(Json{{"ppl", g.sample_ppl[i]}, {"tokens", s.tokens}, {"entropy", s.entropy},
                                   {"distinct_1", s.distinct(1)}, {"distinct_4", s.distinct(4)}, {"rep_4", s.rep4()}});
  }
  return j;
}

Json run_eval_all(const EvalAllRequest& q) {
  const fs::path ckpt_dir = find_checkpoint(q.checkpoint);
  RunConfig config;
  {
    ConfigBuilder builder;
    builder.merge_file((ckpt_dir / "config.json").string());
    config = builder.build();
  }
  const fs::path out_dir = !q.out.empty() ? fs::path(q.out)
                           : ckpt_dir.parent_path().filename() == "checkpoints" ? ckpt_dir.parent_path().parent_path()
                                                                                 : ckpt_dir;
  fs::create_directories(out_dir);
  Json report{{"checkpoint", ckpt_dir.string()}};

  // 1. Samples with the configured sampler.
  const fs::path samples = out_dir / "eval-samples.jsonl";
  SampleCliRequest sq;
  sq.checkpoint = ckpt_dir.string();
  sq.out = samples.string();
  sq.device = q.device;
  log::info("eval all: sampling " + std::to_string(config.sample.num) + " texts with " + config.sample.sampler);
  run_sampling(sq);
  report["sampling"] = Json{{"sampler", config.sample.sampler}, {"num", config.sample.num},
                            {"length", config.sample.length}, {"steps", config.sample.steps},
                            {"file", samples.filename().string()}};

  // 2. ELBO perplexity (when the objective is a bound).
  EvalPplRequest pq = q.ppl;
  pq.checkpoint = ckpt_dir.string();
  pq.data = q.data;
  pq.device = q.device;
  try {
    report["ppl"] = run_eval_ppl(pq);
  } catch (const Error& e) {
    if (std::string(e.what()).find("not a likelihood bound") == std::string::npos) throw;
    report["ppl"] = Json{{"skipped", e.what()}};
  }

  // 3. BLEU against references (DiffusionBERT protocol) and self-BLEU.
  std::vector<std::string> hyps;
  std::vector<std::vector<std::int64_t>> content;
  {
    const auto tokenizer = load_tokenizer(ckpt_dir / "tokenizer");
    for (const auto& s : read_samples(samples, *tokenizer, false)) content.push_back(s.content);
    std::ifstream in(samples);
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      std::string text = nlohmann::json::parse(line)["text"].get<std::string>();
      // Samples of packed (wrap) models show document ends as " [EOS] "; BLEU sees words only.
      for (std::size_t at; (at = text.find(" [EOS] ")) != std::string::npos;) text.replace(at, 7, " ");
      hyps.push_back(one_line(text));
    }
  }
  std::vector<std::string> refs;
  std::string refs_from;
  if (!q.refs.empty()) {
    for (const auto& file : q.refs) {
      std::ifstream in(file);
      if (!in) throw Error("cannot read the reference file " + file);
      for (std::string line; std::getline(in, line);)
        if (!line.empty()) refs.push_back(line);
    }
    refs_from = "files";
  } else {
    const std::string data = data_dir(q.data, config);
    const auto tokenizer = load_tokenizer(ckpt_dir / "tokenizer");
    const std::string split = q.ppl.split.empty() ? config.eval.split : q.ppl.split;
    const ShardedSplit docs(data, split, tokenizer->fingerprint());
    const auto n = std::min<std::uint64_t>(docs.num_docs(), static_cast<std::uint64_t>(config.eval.num_refs));
    for (std::uint64_t d = 0; d < n; ++d) {
      std::vector<std::int64_t> ids(docs.doc_length(d));
      docs.copy_doc(d, ids.size(), ids.data());
      refs.push_back(one_line(tokenizer->decode(std::vector<int>(ids.begin(), ids.end()))));
    }
    refs_from = "split '" + split + "', first " + std::to_string(n) + " documents";
  }
  BleuOptions bo;
  bo.tokenizer = BleuTokenizer::kSpace;
  if (refs.empty()) throw Error("no BLEU references (the split has no documents and no --refs were given)");
  report["bleu"] = bleu_json(diffusionbert_bleu(hyps, refs, bo), "bleu");
  report["bleu"]["protocol"] = "diffusionbert";
  report["bleu"]["references"] = refs_from;
  report["bleu"]["num_refs"] = static_cast<std::int64_t>(refs.size());
  if (hyps.size() >= 2) {
    report["self_bleu"] = bleu_json(diffusionbert_self_bleu(hyps, bo), "self_bleu");
    report["self_bleu"]["protocol"] = "diffusionbert";
  } else {
    report["self_bleu"] = Json{{"skipped", "self-BLEU needs at least two samples (sample.num)"}};
  }

  // 4. Diversity of the samples, and gen-ppl under the AR scorer.
  report["diversity"] = stats_json(text_stats(content));
  const std::string scorer = q.scorer.empty() ? config.eval.scorer : q.scorer;
  if (scorer.empty()) {
    report["gen_ppl"] = Json{{"skipped", "no AR scorer (give --scorer or eval.scorer)"}};
  } else {
    EvalGenPplRequest gq;
    gq.samples = samples.string();
    gq.scorer = scorer;
    gq.device = q.device;
    gq.retokenize = true;
    Json g = run_eval_gen_ppl(gq);
    g.erase("per_sample");
    report["gen_ppl"] = g;
  }

  write_file_atomic(out_dir / "eval.json", report.dump(2) + "\n");
  write_file_atomic(out_dir / "eval.md", eval_markdown(report));
  report["written"] = Json{(out_dir / "eval.json").string(), (out_dir / "eval.md").string()};
  return report;
}

std::string eval_markdown(const Json& r) {
  auto num = [](const Json& v, int digits) {
    if (!v.is_number()) return std::string("—");
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v.get<double>());
    return std::string(buf);
  };
  auto skipped = [](const Json& section) { return section.contains("skipped") ? section["skipped"].get<std::string>() : ""; };
  std::string md = "# Evaluation of " + r["checkpoint"].get<std::string>() + "\n\n";
  md += "| metric | value | how |\n|---|---:|---|\n";
  const Json& p = r["ppl"];
  if (skipped(p).empty()) {
    std::string how = p["method"].get<std::string>() + " on split " + p["split"].get<std::string>() + ", " +
                      std::to_string(p["tokens"].get<std::int64_t>()) + " tokens";
    if (p.contains("draws")) how += ", " + std::to_string(p["draws"].get<std::int64_t>()) + " rounds";
    std::string ppl = num(p["ppl"], 2);
    if (p["std_error"].is_number())
      ppl += " (NELBO/token " + num(p["nelbo_per_token"], 4) + " ± " + num(p["std_error"], 4) + ")";
    md += "| " + std::string(p["bound"].get<bool>() ? "ELBO perplexity (upper bound)" : "perplexity") + " | " + ppl +
          " | " + how + " |\n";
    md += "| bits per byte | " + num(p["bpb"], 4) + " | UTF-8 bytes of the decoded rows |\n";
    md += "| per-word perplexity (DiffusionBERT) | " + num(p["per_word_ppl_diffusionbert"], 2) +
          " | NELBO / whitespace words |\n";
  } else {
    md += "| ELBO perplexity | — | " + skipped(p) + " |\n";
  }
  md += "| BLEU-4 | " + num(r["bleu"]["bleu"], 2) + " | DiffusionBERT protocol, " +
        r["bleu"]["references"].get<std::string>() + " |\n";
  md += "| self-BLEU-4 | " + (skipped(r["self_bleu"]).empty() ? num(r["self_bleu"]["self_bleu"], 2) : "—") +
        " | each sample against the others |\n";
  const Json& g = r["gen_ppl"];
  md += "| gen-perplexity | " + (skipped(g).empty() ? num(g["gen_ppl"], 2) : "—") + " | " +
        (skipped(g).empty() ? "AR scorer " + g["scorer"].get<std::string>() : skipped(g)) + " |\n";
  md += "| unigram entropy | " + num(r["diversity"]["entropy"], 3) + " | nats, mean over samples |\n";
  md += "| distinct-4 | " + num(r["diversity"]["per_sample"]["distinct_4"], 3) + " | mean over samples |\n";
  md += "| repetition (seq-rep-4) | " + num(r["diversity"]["rep_4"], 3) + " | mean over samples |\n";
  const Json& s = r["sampling"];
  md += "\nSamples: " + std::to_string(s["num"].get<std::int64_t>()) + " × " +
        std::to_string(s["length"].get<std::int64_t>()) + " tokens, sampler " + s["sampler"].get<std::string>() +
        ", " + std::to_string(s["steps"].get<std::int64_t>()) + " steps (" + s["file"].get<std::string>() + ").\n";
  return md;
}

}  // namespace unmask
