// Sample files for gen-ppl and `eval all`, and the JSON of diversity statistics.
#include "unmask/eval/samples.h"

#include <algorithm>
#include <fstream>

#include "unmask/eval/inputs.h"
#include "unmask/util/error.h"

namespace unmask::eval_detail {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

std::string data_dir(const std::string& requested, const RunConfig& config) {
  const std::string dir = requested.empty() ? config.data.path : requested;
  if (dir.empty()) throw Error("no --data given and the checkpoint's config has no data.path");
  return dir;
}

std::vector<ScoredSample> scored_samples(const std::vector<SampleRecord>& records, const Tokenizer& scorer_tokenizer,
                                         bool retokenize, const std::string& origin) {
  const SpecialTokens& sp = scorer_tokenizer.special();
  std::vector<ScoredSample> out;
  for (const auto& r : records) {
    ScoredSample s;
    s.text = r.text;
    const bool same = r.tokenizer && *r.tokenizer == scorer_tokenizer.fingerprint();
    if (r.tokenizer && !same && !retokenize)
      throw Error("the samples in " + origin + " were made with tokenizer " + r.tokenizer->substr(0, 12) +
                  "… but the scorer uses " + scorer_tokenizer.fingerprint().substr(0, 12) +
                  "…; pass --retokenize to score their text with the scorer's tokenizer");
    if (same && !retokenize && r.ids) {
      const auto& ids = *r.ids;
      for (std::size_t i = 1; i < ids.size(); ++i) {  // ids[0] is BOS
        // The first EOS ends the sample (scored); a tokenizer whose pad is
        // its EOS (GPT-2's) must not skip it as padding.
        if (ids[i] == sp.eos) {
          s.ids.push_back(ids[i]);
          break;  // tokens after the first EOS are not scored
        }
        if (ids[i] == sp.pad) continue;
        s.ids.push_back(ids[i]);
        s.content.push_back(ids[i]);
      }
      out.push_back(std::move(s));
      continue;
    }
    for (int id : scorer_tokenizer.encode(s.text)) s.ids.push_back(id);
    s.content = s.ids;
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<ScoredSample> read_samples(const fs::path& path, const Tokenizer& scorer_tokenizer, bool retokenize) {
  std::ifstream in(path);
  if (!in) throw Error("cannot read the samples file " + path.string());
  const bool jsonl = is_sample_jsonl(path);
  std::vector<SampleRecord> records;
  std::size_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty()) continue;
    SampleRecord r;
    r.text = line;
    if (jsonl) {
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const std::exception&) {
        throw Error(path.string() + ":" + std::to_string(line_no) + ": not a JSON object (expected 'unmask sample --out' lines)");
      }
      if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
        throw Error(path.string() + ":" + std::to_string(line_no) + ": no \"text\" field (expected 'unmask sample --out' lines)");
      r.text = j["text"].get<std::string>();
      const std::string where = path.string() + ":" + std::to_string(line_no) + ": ";
      if (j.contains("tokenizer")) {
        if (!j["tokenizer"].is_string()) throw Error(where + "\"tokenizer\" is not a string (a tokenizer fingerprint)");
        r.tokenizer = j["tokenizer"].get<std::string>();
      }
      if (j.contains("ids")) {
        const auto& ids = j["ids"];
        if (!ids.is_array() || !std::all_of(ids.begin(), ids.end(), [](const auto& v) { return v.is_number_integer(); }))
          throw Error(where + "\"ids\" is not an array of integers");
        r.ids = ids.get<std::vector<std::int64_t>>();
      }
    }
    records.push_back(std::move(r));
  }
  if (records.empty()) throw Error("the samples file " + path.string() + " has no samples");
  return scored_samples(records, scorer_tokenizer, retokenize, path.string());
}

Json stats_json(const TextStats& st) {
  Json distinct = Json::object(), corpus = Json::object();
  for (int n = 1; n <= kTextStatsMaxOrder; ++n) {
    distinct["distinct_" + std::to_string(n)] = st.mean_distinct[static_cast<std::size_t>(n - 1)];
    corpus["distinct_" + std::to_string(n)] = st.corpus_distinct[static_cast<std::size_t>(n - 1)];
  }
  return Json{{"entropy", st.mean_entropy}, {"rep_4", st.mean_rep4}, {"per_sample", distinct}, {"corpus", corpus}};
}

}  // namespace unmask::eval_detail
