// init.from: architecture and tokenizer checks, then a tolerant copy of the
// source's tensors into the freshly built backbone.
#include "unmask/interop/init_from.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "unmask/interop/hf_model.h"
#include "unmask/model/weights.h"
#include "unmask/run/layout.h"
#include "unmask/run/run_model.h"
#include "unmask/util/error.h"
#include "unmask/util/fs.h"
#include "unmask/util/log.h"
#include "unmask/util/text.h"

namespace unmask {
namespace {

struct Source {
  ModelConfig model;
  std::unique_ptr<Tokenizer> tokenizer;
  std::map<std::string, at::Tensor> tensors;
  std::vector<std::string> ignored;
  std::string origin;
};

bool is_hf_dir(const fs::path& dir) {
  if (!fs::exists(dir / "config.json")) return false;
  const auto j = nlohmann::json::parse(read_file(dir / "config.json"), nullptr, false);
  return j.is_object() && j.contains("model_type");
}

Source read_source(const fs::path& from) {
  Source s;
  if (is_hf_dir(from)) {
    const HfModel hf = read_hf_config(from);
    s.tokenizer = load_tokenizer(from);
    s.model = hf.model;
    s.model.vocab_size = hf_vocab_setting(hf, s.tokenizer->vocab_size());
    s.tensors = read_hf_weights(hf, &s.ignored);
    s.origin = hf.architecture + " " + from.string();
    return s;
  }
  RunModel m = load_run_model(from, "cpu", /*ema=*/true);
  s.model = m.config.model;
  s.tokenizer = std::move(m.tokenizer);
  for (const auto& p : m.model->named_parameters()) s.tensors[p.key()] = p.value().detach();
  for (const auto& b : m.model->named_buffers()) s.tensors[b.key()] = b.value();
  const fs::path weights = m.dir / (m.ema ? run_files::kEma : run_files::kModel);
  s.origin = "unmask checkpoint " + weights.string();
  return s;
}

// The keys that decide tensor names and shapes; "" when they agree.
std::string architecture_mismatch(const ModelConfig& want, const ModelConfig& have) {
  std::string diff;
  auto check = [&](const char* key, const std::string& a, const std::string& b) {
    if (a != b) diff += std::string(diff.empty() ? "" : ", ") + "model." + key + "=" + b + " (config: " + a + ")";
  };
  auto num = [](double v) { return shortest_number(v); };
  check("backbone", want.backbone, have.backbone);
  check("hidden", std::to_string(want.hidden), std::to_string(have.hidden));
  check("layers", std::to_string(want.layers), std::to_string(have.layers));
  check("heads", std::to_string(want.heads), std::to_string(have.heads));
  check("mlp_ratio", num(want.mlp_ratio), num(have.mlp_ratio));
  check("vocab_size", std::to_string(want.vocab_size), std::to_string(have.vocab_size));
  if (have.backbone == "bert" || have.backbone == "gpt2")
    check("max_length", std::to_string(want.max_length), std::to_string(have.max_length));  // position table
  if (have.backbone == "bert") {
    check("variant", want.variant, have.variant);
    check("tie_embeddings", want.tie_embeddings ? "true" : "false", have.tie_embeddings ? "true" : "false");
  }
  if (have.backbone == "dit") check("cond_dim", std::to_string(want.cond_dim), std::to_string(have.cond_dim));
  return diff;
}

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace

InitReport initialise_from(BackboneImpl& model, const RunConfig& config, const Tokenizer& data_tokenizer) {
  const fs::path from(config.init.from);
  if (!fs::exists(from)) throw Error("init.from " + from.string() + " does not exist");
  Source src = read_source(from);
  if (src.tokenizer->fingerprint() != data_tokenizer.fingerprint())
    throw Error("init.from " + from.string() + " has tokenizer " + src.tokenizer->fingerprint().substr(0, 12) +
                " but data.path was prepared with " + data_tokenizer.fingerprint().substr(0, 12) +
                ": prepare the data with 'unmask data prepare --tokenizer " + from.string() + "'");
  const std::string diff = architecture_mismatch(config.model, src.model);
  if (!diff.empty())
    throw Error("init.from " + from.string() + " is a different architecture: set " + diff);
  InitReport r;
  r.source = src.origin;
  r.ignored = src.ignored;
  const PartialLoad load = load_matching_tensors(model, src.tensors, src.origin);
  r.missing = load.missing;
  r.unexpected = load.unexpected;
  log::info("init.from: weights of " + src.origin);
  if (!r.missing.empty())
    log::info("init.from: " + std::to_string(r.missing.size()) + " tensors not in the source keep the " +
              config.model.backbone + " initialisation: " + joined(r.missing));
  if (!r.unexpected.empty())
    log::info("init.from: " + std::to_string(r.unexpected.size()) + " source tensors have no place in the model: " +
              joined(r.unexpected));
  if (!r.ignored.empty())
    log::info("init.from: " + std::to_string(r.ignored.size()) + " HF tensors without a counterpart by design: " +
              joined(r.ignored));
  return r;
}

}  // namespace unmask
