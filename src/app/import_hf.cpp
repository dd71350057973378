// `unmask import hf`: an HF model directory → an unmask run whose step-0
// checkpoint samples, evaluates and initialises training like any other.
#include <torch/torch.h>

#include "unmask/app/interop.h"
#include "unmask/config.h"
#include "unmask/interop/hf_model.h"
#include "unmask/model/weights.h"
#include "unmask/run/checkpoint.h"
#include "unmask/run/layout.h"
#include "unmask/run/run_model.h"
#include "unmask/run/trainer_state.h"
#include "unmask/tokenizer/tokenizer.h"
#include "unmask/util/error.h"
#include "unmask/util/fs.h"
#include "unmask/util/log.h"
#include "unmask/util/safetensors.h"

namespace unmask {

nlohmann::ordered_json run_import_hf(const ImportHfRequest& q) {
  if (q.from.empty() || q.out.empty()) throw Error("import hf needs --from DIR and --out DIR");
  const fs::path from(q.from), out(q.out);
  if (fs::exists(out)) throw Error("--out " + out.string() + " already exists: choose a new directory");
  const HfModel hf = read_hf_config(from);
  const auto tokenizer = load_tokenizer(from);

  RunConfig defaults;
  defaults.model = hf.model;
  defaults.model.vocab_size = hf_vocab_setting(hf, tokenizer->vocab_size());
  defaults.diffusion.objective = hf.objective;
  defaults.data.length = std::min<std::int64_t>(hf.model.max_length, hf.kind == HfKind::Bert || hf.kind == HfKind::Roberta
                                                                         ? 128
                                                                         : hf.model.max_length);
  if (hf.kind != HfKind::Bert && hf.kind != HfKind::Roberta) defaults.data.mode = "wrap";
  defaults.out_dir = out.string();
  ConfigBuilder builder;
  builder.merge_json(config_to_json(defaults), hf.dir.string() + "/config.json");
  for (const auto& s : q.sets) builder.set(s);
  const RunConfig config = builder.build();
  validate_run_config(config);
  for (const char* key : {"backbone", "hidden", "layers", "heads", "mlp_ratio", "max_length", "cond_dim",
                          "tie_embeddings", "variant", "vocab_size"})
    if (builder.json()["model"][key] != config_to_json(defaults)["model"][key])
      throw Error(std::string("--set model.") + key + " would change the architecture of the imported weights (" +
                  "to start a different model from them, train with init.from)");

  const BuiltModel built = build_model(config, *tokenizer);
  const Backbone& model = built.model;
  const std::int64_t vocab = built.vocab_size;
  std::vector<std::string> ignored;
  const auto weights = read_hf_weights(hf, &ignored);
  load_named_tensors(*model, weights, (from / run_files::kModel).string());

  // The whole run directory appears at once, or not at all.
  StagingDir staging(out, /*overwrite=*/false);
  const fs::path run = staging.path();
  write_file_atomic(run / run_files::kConfig, builder.json().dump(2) + "\n");
  {
    CheckpointWriter w(run, 0);
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    std::int64_t params = 0;
    for (const auto& p : model->named_parameters()) {
      tensors.emplace_back(p.key(), p.value());
      params += p.value().numel();
    }
    for (const auto& b : model->named_buffers()) tensors.emplace_back(b.key(), b.value());
    save_safetensors(w.file(run_files::kModel), tensors,
                     {{"format", "unmask-model"}, {"source", fs::absolute(from).lexically_normal().string()}});
    write_file_atomic(w.file(run_files::kConfig), builder.json().dump(2) + "\n");
    save_tokenizer(*tokenizer, w.file("tokenizer"));
    // Marks the checkpoint complete; it has no optimizer state, so it
    // initialises runs (init.from) rather than resuming them.
    TrainerState state;
    state.fingerprint = tokenizer->fingerprint();
    state.vocab_size = tokenizer->vocab_size();
    state.objective = config.diffusion.objective;
    state.loader = {{"mode", config.data.mode}, {"fingerprint", tokenizer->fingerprint()}, {"length", config.data.length}};
    write_file_atomic(w.file("trainer.json"), trainer_state_json(state).dump(2) + "\n");
    w.commit(config.checkpoint);
    staging.commit();
    nlohmann::ordered_json j;
    j["architecture"] = hf.architecture;
    j["backbone"] = config.model.backbone;
    j["objective"] = config.diffusion.objective;
    j["parameters"] = params;
    j["vocab_size"] = vocab;
    j["tokenizer"] = tokenizer->type();
    j["ignored"] = ignored;
    j["out"] = out.string();
    return j;
  }
}

}  // namespace unmask
