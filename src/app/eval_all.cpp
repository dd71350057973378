// `unmask eval all`: samples with the configured sampler (in memory, through a
// SamplingSession), then ELBO perplexity, BLEU and self-BLEU (DiffusionBERT
// protocol), diversity and gen-ppl, written as eval.json and a Markdown table.
#include <chrono>

#include "unmask/app/eval.h"
#include "unmask/app/sample.h"
#include "unmask/app/sampling_session.h"
#include "unmask/data/dataset.h"
#include "unmask/eval/bleu.h"
#include "unmask/eval/gen_ppl.h"
#include "unmask/eval/inputs.h"
#include "unmask/eval/mauve.h"
#include "unmask/eval/samples.h"
#include "unmask/eval/text_stats.h"
#include "unmask/run/layout.h"
#include "unmask/util/error.h"
#include "unmask/util/fs.h"
#include "unmask/util/log.h"
#include "unmask/util/text.h"

namespace unmask {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using eval_detail::data_dir;
using eval_detail::read_samples;
using eval_detail::stats_json;

namespace {

// All outputs of one `eval all` are written under temporary names and renamed
// into place together at the end, so a failure part-way (a full disk, a bad
// reference file) leaves the previous outputs as they were.
class PendingOutputs {
 public:
  fs::path add(const fs::path& final_path) {
    files_.emplace_back(temp_sibling(final_path), final_path);
    return files_.back().first;
  }
  void publish() {
    for (const auto& [tmp, final_path] : files_) fs::rename(tmp, final_path);
    files_.clear();
  }
  ~PendingOutputs() {
    std::error_code ec;
    for (const auto& file : files_) fs::remove(file.first, ec);
  }

 private:
  std::vector<std::pair<fs::path, fs::path>> files_;  // (temporary, final)
};

// BLEU segments are lines: samples and documents with line breaks become one line.
std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

Json bleu_json(const BleuScore& s, const std::string& key) {
  return Json{{key, s.score}, {"precisions", s.precisions}, {"bp", s.bp}, {"sys_len", s.sys_len}, {"ref_len", s.ref_len}};
}

}  // namespace

Json run_eval_all(const EvalAllRequest& q) {
  SamplingSession session(q.checkpoint, q.device, /*ema=*/true, q.precision);
  const fs::path ckpt_dir = session.model().dir;
  const RunConfig& config = session.config();
  const Tokenizer& tokenizer = session.tokenizer();
  const fs::path out_dir = !q.out.empty() ? fs::path(q.out)
                           : ckpt_dir.parent_path().filename() == run_files::kCheckpoints ? ckpt_dir.parent_path().parent_path()
                                                                                         : ckpt_dir;
  fs::create_directories(out_dir);
  Json report{{"checkpoint", ckpt_dir.string()}};
  PendingOutputs outputs;

  // 1. Samples with the configured sampler, kept in memory (and written as eval-samples.jsonl).
  const fs::path samples = out_dir / "eval-samples.jsonl";
  log::info("eval all: sampling " + std::to_string(config.sample.num) + " texts with " + config.sample.sampler);
  const SampleRequest request = session.request({});
  const auto start = std::chrono::steady_clock::now();
  const SampleResult result = session.sample(request);
  const SampleOutput sampled =
      session.rows(request, result, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  write_file_atomic(outputs.add(samples), sample_jsonl(sampled));
  std::vector<eval_detail::SampleRecord> records;
  for (const auto& row : sampled.rows) records.push_back({row.text, row.ids, sampled.tokenizer});
  report["sampling"] = Json{{"sampler", config.sample.sampler}, {"num", config.sample.num},
                            {"length", config.sample.length}, {"steps", config.sample.steps},
                            {"temperature", config.sample.temperature}, {"top_k", config.sample.top_k},
                            {"top_p", config.sample.top_p}, {"filter", config.sample.filter},
                            {"mask_bos", config.sample.mask_bos},
                            {"file", samples.filename().string()}};

  // 2. ELBO perplexity (when the objective is a bound).
  if (session.model().objective->is_bound()) {
    EvalPplRequest pq = q.ppl;
    pq.checkpoint = ckpt_dir.string();
    pq.data = q.data;
    pq.device = q.device;
    report["ppl"] = run_eval_ppl(pq);
  } else {
    report["ppl"] = Json{{"skipped", "diffusion.objective=" + config.diffusion.objective +
                                         " is not a likelihood bound, so it has no ELBO perplexity (bounds: " +
                                         join(bound_objective_names(), ", ") + ")"}};
  }

  // 3. BLEU against references (DiffusionBERT protocol) and self-BLEU.
  std::vector<std::string> hyps;
  std::vector<std::vector<std::int64_t>> content;
  for (auto& s : eval_detail::scored_samples(records, tokenizer, false, samples.string())) {
    content.push_back(std::move(s.content));
    // Samples of packed (wrap) models show document ends as " [EOS] "; BLEU sees words only.
    for (std::size_t at; (at = s.text.find(" [EOS] ")) != std::string::npos;) s.text.replace(at, 7, " ");
    hyps.push_back(one_line(s.text));
  }
  std::vector<std::string> refs;
  std::string refs_from;
  if (!q.refs.empty()) {
    for (const auto& file : q.refs)
      for (auto& line : read_text_lines(file, "reference file"))
        if (!line.empty()) refs.push_back(std::move(line));
    refs_from = "files";
  } else {
    const std::string data = data_dir(q.data, config);
    const std::string split = q.ppl.split.empty() ? config.eval.split : q.ppl.split;
    const ShardedSplit docs(data, split, tokenizer.fingerprint());
    const auto n = std::min<std::uint64_t>(docs.num_docs(), static_cast<std::uint64_t>(config.eval.num_refs));
    for (std::uint64_t d = 0; d < n; ++d) {
      std::vector<std::int64_t> ids(docs.doc_length(d));
      docs.copy_doc(d, ids.size(), ids.data());
      refs.push_back(one_line(tokenizer.decode(std::vector<int>(ids.begin(), ids.end()))));
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
    RunModel scorer_model = load_run_model(scorer, q.device, /*ema=*/true, q.precision);
    require_ar_scorer(scorer_model);
    Json g = gen_ppl_report(scorer_model, eval_detail::scored_samples(records, *scorer_model.tokenizer, true, samples.string()),
                            EvalGenPplRequest{}.batch_size);
    g.erase("per_sample");
    if (g.contains("samples")) g["samples"] = samples.string();
    report["gen_ppl"] = g;
    // 5. MAUVE of the samples against the BLEU references, with the scorer's features.
    try {  // a scorer that is no GPT-2, or too few texts for the clusters: said in the report
      const MauveOptions mo;
      std::vector<std::string> texts;  // the samples' own text, as eval-samples.jsonl holds it
      for (const auto& row : sampled.rows) texts.push_back(row.text);
      const EvalMauveRequest d;  // eval mauve's defaults: text length and batch
      const at::Tensor p = mauve_features(scorer_model, texts, d.max_text_length, d.batch_size);
      const at::Tensor r = mauve_features(scorer_model, refs, d.max_text_length, d.batch_size);
      report["mauve"] = mauve_report(compute_mauve(p, r, mo), p.size(0), r.size(0));
      report["mauve"]["reference_texts"] = refs_from;
    } catch (const Error& e) {
      report["mauve"] = Json{{"skipped", e.what()}};
    }
  }
  if (!report.contains("mauve")) report["mauve"] = Json{{"skipped", "no scorer (give --scorer with a GPT-2)"}};

  write_file_atomic(outputs.add(out_dir / "eval.json"), report.dump(2) + "\n");
  write_file_atomic(outputs.add(out_dir / "eval.md"), eval_markdown(report));
  outputs.publish();
  report["written"] = Json{(out_dir / "eval.json").string(), (out_dir / "eval.md").string()};
  return report;
}

std::string eval_markdown(const Json& r) {
  auto num = [](const Json& v, int digits) {
    if (!v.is_number()) return std::string("—");
    return number_text(v.get<double>(), digits);
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
    md += "| per-word perplexity | " + num(p["per_word_ppl"], 2) + " | exp(NELBO / whitespace words) |\n";
    md += "| NELBO per row | " + num(p["nelbo_per_row"], 2) + " | nats per sentence (what DiffusionBERT's compute_elbo.py prints) |\n";
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
  const Json& mv = r.contains("mauve") ? r["mauve"] : Json{{"skipped", "not computed"}};
  md += "| MAUVE | " + (skipped(mv).empty() ? num(mv["mauve"], 4) : "—") + " | " +
        (skipped(mv).empty() ? "GPT-2 features against the references, " + std::to_string(mv["buckets"].get<std::int64_t>()) +
                                   " clusters"
                             : skipped(mv)) +
        " |\n";
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
