// Assembling a model (objective + backbone) from a config, and rebuilding
// one from a checkpoint: config.json, tokenizer/, the spindle token counts
// when present, then ema.safetensors (unless refused) or model.safetensors.
#include "unmask/run/run_model.h"

#include <torch/torch.h>

#include "unmask/diffusion/spindle.h"
#include "unmask/model/weights.h"
#include "unmask/run/checkpoint.h"
#include "unmask/run/layout.h"
#include "unmask/util/error.h"
#include "unmask/util/safetensors.h"

namespace unmask {

namespace fs = std::filesystem;

c10::Device resolve_device(const std::string& device) {
  if (device != "auto" && device != "cpu" && device != "cuda")
    throw Error("unknown --device '" + device + "' (valid: auto, cpu, cuda)");
  if (device == "cuda" && !torch::cuda::is_available()) throw Error("--device cuda but no CUDA device is available");
  return (device == "cuda" || (device == "auto" && torch::cuda::is_available())) ? c10::Device(c10::kCUDA)
                                                                                 : c10::Device(c10::kCPU);
}

BuiltModel build_model(const RunConfig& config, const Tokenizer& tokenizer, const at::Tensor& token_weights) {
  BuiltModel b;
  const bool causal = objective_traits(config.diffusion.objective).causal;
  b.vocab_size = model_vocab_size(config.model, tokenizer.vocab_size(), causal, tokenizer.special());
  b.objective = make_objective({config.diffusion, tokenizer.special(), b.vocab_size, token_weights});
  b.model = make_backbone({config.model, b.vocab_size, causal, config.diffusion.T});
  return b;
}

RunConfig read_run_config(const fs::path& checkpoint_dir) {
  ConfigBuilder builder;
  builder.merge_file((checkpoint_dir / run_files::kConfig).string());
  return builder.build();
}

RunModel load_run_model(const fs::path& spec, const std::string& device, bool ema, const std::string& precision) {
  if (precision != "run" && precision != "fp32" && precision != "bf16")
    throw Error("unknown --precision '" + precision + "' (valid: run, fp32, bf16)");
  RunModel m;
  m.device = resolve_device(device);
  m.dir = find_checkpoint(spec);
  verify_checkpoint(m.dir);
  m.config = read_run_config(m.dir);
  if (precision != "run") m.config.train.precision = precision;
  if (!fs::exists(m.dir / run_files::kTokenizer / kTokenizerMeta))
    throw Error("checkpoint " + m.dir.string() + " has no tokenizer (tokenizer/ is missing); it cannot turn ids into text");
  m.tokenizer = load_tokenizer(m.dir / run_files::kTokenizer);

  at::Tensor token_weights;
  if (fs::exists(m.dir / run_files::kTokenCounts)) {
    const at::Tensor counts = load_safetensors(m.dir / run_files::kTokenCounts).tensors.at("counts");
    std::vector<std::int64_t> c(counts.data_ptr<std::int64_t>(), counts.data_ptr<std::int64_t>() + counts.numel());
    token_weights = spindle_token_weights(c, m.tokenizer->special().pad);
  }
  BuiltModel built = build_model(m.config, *m.tokenizer, token_weights);
  m.objective = std::move(built.objective);
  m.model = built.model;
  m.ema = ema && fs::exists(m.dir / run_files::kEma);
  m.trained = fs::exists(m.dir / run_files::kOptimizer);
  const fs::path weights = m.dir / (m.ema ? run_files::kEma : run_files::kModel);
  load_named_tensors(*m.model, load_safetensors(weights).tensors, weights.string(), {"__num_updates__"});
  m.model->to(m.device);
  m.model->eval();
  return m;
}

}  // namespace unmask
