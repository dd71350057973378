// `unmask eval all`: samples with the configured sampler, then ELBO
// perplexity, BLEU and self-BLEU (DiffusionBERT protocol), diversity and
// gen-ppl, written as eval.json and a Markdown table.
#include "samples.h"
#include "unmask/data/dataset.h"
#include "unmask/eval/bleu.h"
#include "unmask/eval/inputs.h"
#include "unmask/eval/run.h"
#include "unmask/sampling/run.h"
#include "unmask/train/checkpoint.h"
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
  PendingOutputs outputs;

  // 1. Samples with the configured sampler.
  const fs::path samples = out_dir / "eval-samples.jsonl";
  const fs::path samples_tmp = outputs.add(samples);  // read back below under this name
  SampleCliRequest sq;
  sq.checkpoint = ckpt_dir.string();
  sq.out = samples_tmp.string();
  sq.device = q.device;
  log::info("eval all: sampling " + std::to_string(config.sample.num) + " texts with " + config.sample.sampler);
  run_sampling(sq);
  report["sampling"] = Json{{"sampler", config.sample.sampler}, {"num", config.sample.num},
                            {"length", config.sample.length}, {"steps", config.sample.steps},
                            {"temperature", config.sample.temperature}, {"top_k", config.sample.top_k},
                            {"top_p", config.sample.top_p}, {"filter", config.sample.filter},
                            {"mask_bos", config.sample.mask_bos},
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
  const auto tokenizer = load_tokenizer(ckpt_dir / "tokenizer");
  std::vector<std::string> hyps;
  std::vector<std::vector<std::int64_t>> content;
  for (auto& s : read_samples(samples_tmp, *tokenizer, false)) {
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
    gq.samples = samples_tmp.string();
    gq.scorer = scorer;
    gq.device = q.device;
    gq.retokenize = true;
    Json g = run_eval_gen_ppl(gq);
    g.erase("per_sample");
    if (g.contains("samples")) g["samples"] = samples.string();
    report["gen_ppl"] = g;
  }

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
