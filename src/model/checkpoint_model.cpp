// Rebuilding a model from a checkpoint: config.json, tokenizer/, the spindle
// token counts when present, then ema.safetensors (unless refused) or
// model.safetensors.
#include "unmask/model/checkpoint_model.h"

#include <torch/torch.h>

#include "unmask/diffusion/spindle.h"
#include "unmask/model/weights.h"
#include "unmask/train/checkpoint.h"
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

CheckpointModel load_checkpoint_model(const fs::path& spec, const std::string& device, bool no_ema) {
  CheckpointModel m;
  m.device = resolve_device(device);
  m.dir = find_checkpoint(spec);
  verify_checkpoint(m.dir);
  ConfigBuilder builder;
  builder.merge_file((m.dir / "config.json").string());
  m.config = builder.build();
  if (!fs::exists(m.dir / "tokenizer" / kTokenizerMeta))
    throw Error("checkpoint " + m.dir.string() + " has no tokenizer (tokenizer/ is missing); it cannot turn ids into text");
  m.tokenizer = load_tokenizer(m.dir / "tokenizer");

  const std::int64_t vocab = model_vocab_size(m.config.model, m.tokenizer->vocab_size(),
                                              m.config.diffusion.objective == "ar", m.tokenizer->special());
  ObjectiveContext ctx{m.config.diffusion, m.tokenizer->special(), vocab, {}};
  if (fs::exists(m.dir / "token_counts.safetensors")) {
    const at::Tensor counts = load_safetensors(m.dir / "token_counts.safetensors").tensors.at("counts");
    std::vector<std::int64_t> c(counts.data_ptr<std::int64_t>(), counts.data_ptr<std::int64_t>() + counts.numel());
    ctx.token_weights = spindle_token_weights(c, m.tokenizer->special().pad);
  }
  m.objective = make_objective(ctx);
  m.model = make_backbone({m.config.model, vocab, m.objective->causal(), m.config.diffusion.T});
  m.ema = !no_ema && fs::exists(m.dir / "ema.safetensors");
  const fs::path weights = m.dir / (m.ema ? "ema.safetensors" : "model.safetensors");
  load_named_tensors(*m.model, load_safetensors(weights).tensors, weights.string(), {"__num_updates__"});
  m.model->to(m.device);
  m.model->eval();
  return m;
}

}  // namespace unmask
