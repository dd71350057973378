// The one place where config fields are listed: each struct's visit() names
// its keys, docs and allowed values; three visitors derive the key list, the
// JSON writer and the JSON reader from it.
#include <functional>

#include "unmask/config.h"
#include "unmask/samplers.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

using Choices = std::vector<std::string>;

template <class V> void visit(V& v, ModelConfig& c) {
  v.field("backbone", c.backbone, "network: bert (post-LN BERT), dit (MDLM DiT) or gpt2 (causal GPT-2, ar only)",
          {"bert", "dit", "gpt2"});
  v.field("hidden", c.hidden, "hidden size");
  v.field("layers", c.layers, "number of transformer blocks");
  v.field("heads", c.heads, "attention heads");
  v.field("mlp_ratio", c.mlp_ratio, "MLP width as a multiple of hidden");
  v.field("dropout", c.dropout, "dropout probability");
  v.field("max_length", c.max_length, "longest sequence the model accepts");
  v.field("time_conditioning", c.time_conditioning, "how t enters the network",
          {"none", "layerwise", "prefix", "adaln"});
  v.field("cond_dim", c.cond_dim, "width of the time embedding (dit adaLN input)");
  v.field("tie_embeddings", c.tie_embeddings, "bert: share input embedding and output projection");
  v.field("vocab_size", c.vocab_size,
          "rows of the embedding and output layer (0 = the tokenizer's vocabulary; an ar model may have fewer, e.g. "
          "GPT-2's 50,257 beside a tokenizer with an appended [MASK])");
  v.field("variant", c.variant,
          "bert backbone: bert (positions from 0, LayerNorm eps 1e-12, 2 token types) or roberta (positions from "
          "padding index + 1 = 2, eps 1e-5, 1 token type), as HF BertForMaskedLM / RobertaForMaskedLM",
          {"bert", "roberta"});
  v.field("layer_norm_eps", c.layer_norm_eps,
          "bert backbone: LayerNorm epsilon; 0 = the variant's (1e-12 bert, 1e-5 roberta); import hf takes it from "
          "config.json");
}

template <class V> void visit(V& v, InitConfig& c) {
  v.field("from", c.from,
          "initialise the model before step 0 from an HF model directory (config.json, model.safetensors) or an "
          "unmask checkpoint; the data must be prepared with its tokenizer (empty = random init)");
}

template <class V> void visit(V& v, DiffusionConfig& c) {
  v.field("objective", c.objective, "training objective",
          {"mdlm", "d3pm", "diffusionbert", "mlm", "roberta_diffusion", "ar", "bd3lm"});
  v.field("schedule", c.schedule, "noise schedule", {"loglinear", "d3pm", "linear", "cosine", "spindle"});
  v.field("T", c.T, "discrete diffusion steps (0 = continuous time)");
  v.field("eps", c.eps, "log-linear schedule epsilon");
  v.field("hybrid_lambda", c.hybrid_lambda, "weight of the CE term in the D3PM hybrid loss");
  v.field("spindle_lambda", c.spindle_lambda, "DiffusionBERT spindle schedule lambda (< 1/pi)");
  v.field("mask_ratio", c.mask_ratio, "MLM masking ratio");
  v.field("prompt_length", c.prompt_length, "roberta_diffusion: leading tokens of a row never masked");
  v.field("antithetic", c.antithetic, "antithetic (low-discrepancy) time draws");
  v.field("block_size", c.block_size,
          "bd3lm: tokens per block L' (divides data.length; L' = data.length is MDLM, 1 is AR)");
  v.field("clip_min", c.clip_min, "bd3lm training: lower end of the clipped mask rate t ~ U[clip_min, clip_max]");
  v.field("clip_max", c.clip_max, "bd3lm training: upper end of the clipped mask rate (the bound always uses [eps, 1))");
  v.field("clip_search", c.clip_search,
          "bd3lm: at every validation pass choose the clip range among BD3-LM's 36 candidates as the one whose "
          "per-block loss estimates vary least, log it and train with it (needs train.val_batches >= 1)");
}

template <class V> void visit(V& v, DataConfig& c) {
  v.field("path", c.path, "directory of prepared shards (unmask data prepare --out)");
  v.field("mode", c.mode, "pad: one example per row; wrap: documents packed into rows", {"pad", "wrap"});
  v.field("length", c.length, "tokens per row including BOS/EOS");
  v.field("shuffle", c.shuffle, "shuffle rows each epoch (seeded)");
  v.field("pad_loss", c.pad_loss,
          "pad rows: the [PAD] positions after EOS are masked, predicted and attended like tokens, so samples "
          "learn to end (LLaDA); off = MDLM and DiffusionBERT, which never train on padding");
}

template <class V> void visit(V& v, OptimConfig& c) {
  v.field("name", c.name, "optimizer", {"adamw"});
  v.field("beta1", c.beta1, "AdamW beta1");
  v.field("beta2", c.beta2, "AdamW beta2");
  v.field("eps", c.eps, "AdamW epsilon");
  v.field("weight_decay", c.weight_decay, "decoupled weight decay (not on norms and biases)");
  v.field("grad_clip", c.grad_clip, "gradient clipping by global norm (0 = off)");
  v.field("fused", c.fused,
          "AdamW as one fused kernel per parameter group (ATen _fused_adamw_, CPU and CUDA); false = LibTorch's "
          "per-parameter AdamW (the same update and state)");
}

template <class V> void visit(V& v, TrainConfig& c) {
  v.field("batch_size", c.batch_size, "global batch in sequences");
  v.field("grad_accum", c.grad_accum, "micro-batches accumulated per step");
  v.field("masked_head", c.masked_head,
          "run the output head at the masked positions only when the loss reads nothing else (mdlm, mlm, "
          "roberta_diffusion, d3pm/diffusionbert with hybrid_lambda 0): same loss and gradients, less work");
  v.field("max_steps", c.max_steps, "optimizer steps");
  v.field("lr", c.lr, "peak learning rate");
  v.field("warmup_steps", c.warmup_steps, "linear warmup steps");
  v.field("lr_schedule", c.lr_schedule, "after warmup", {"constant", "cosine", "linear"});
  v.field("ema", c.ema, "EMA decay of the weights (0 = off)");
  v.field("precision", c.precision, "auto = bf16 autocast on CUDA, fp32 on CPU", {"auto", "fp32", "bf16"});
  v.field("device", c.device, "where to train", {"auto", "cpu", "cuda"});
  v.field("log_every", c.log_every, "steps between metric lines");
  v.field("eval_every", c.eval_every, "steps between validation passes");
  v.field("val_batches", c.val_batches, "batches per validation pass");
  v.field("sample_every", c.sample_every, "steps between sample printouts (0 = off)");
  v.field("checkpoint_every", c.checkpoint_every, "steps between checkpoints");
  v.field("nonfinite", c.nonfinite, "a NaN/inf loss or gradient skips the step, or stops the run", {"skip", "stop"});
  v.field("max_nonfinite", c.max_nonfinite, "stop after this many non-finite steps in a row");
  v.field("threads", c.threads, "CPU threads for LibTorch (0 = its default)");
}

template <class V> void visit(V& v, SampleConfig& c) {
  v.field("sampler", c.sampler, "denoising strategy", sampler_names());
  v.field("steps", c.steps, "denoising steps");
  v.field("num", c.num, "number of samples");
  v.field("length", c.length, "tokens per sample");
  v.field("temperature", c.temperature, "softmax temperature");
  v.field("top_k", c.top_k, "keep the k most likely tokens (0 = off)");
  v.field("top_p", c.top_p, "nucleus sampling mass (1 = off)");
  v.field("filter", c.filter,
          "what temperature/top-k/top-p apply to: x0 (the x0 prediction) or reverse (the ancestral reverse step, "
          "[MASK] included: DiffusionBERT's predict.py)",
          {"x0", "reverse"});
  v.field("semi_ar_style", c.semi_ar_style,
          "semi_ar: llada (blocks share the steps) or mdlm (the first window jointly, then each block, each with "
          "all the steps: MDLM's sample_subs_guidance)",
          {"llada", "mdlm"});
  v.field("mask_bos", c.mask_bos, "start from an all-[MASK] canvas, BOS included, as MDLM's sampler does");
}

template <class V> void visit(V& v, EvalConfig& c) {
  v.field("split", c.split, "split of the prepared data to evaluate", {"train", "val", "test"});
  v.field("batch_size", c.batch_size, "sequences per evaluation batch");
  v.field("draws", c.draws, "Monte-Carlo rounds over t for continuous-time ELBOs (>= 2 gives a standard error)");
  v.field("stride", c.stride, "discrete-time ELBO: evaluate every stride-th step k = T, T-s, ...");
  v.field("stride_mode", c.stride_mode,
          "discrete-time ELBO with stride s: chain (the NELBO of the s-step chain, DiffusionBERT compute_elbo.py) "
          "or weighted (s x the one-step KL at each evaluated step)",
          {"chain", "weighted"});
  v.field("max_rows", c.max_rows, "rows of the split to evaluate (0 = all)");
  v.field("scorer", c.scorer, "ar checkpoint that scores samples for gen-ppl in 'eval all' (empty = skip)");
  v.field("num_refs", c.num_refs, "eval all: documents of the split used as BLEU references");
}

template <class V> void visit(V& v, CheckpointConfig& c) {
  v.field("keep_last", c.keep_last, "checkpoints kept (newest)");
  v.field("keep_every", c.keep_every, "also keep every M-th step (0 = off)");
}

template <class V> void visit(V& v, DistConfig& c) {
  v.field("launcher", c.launcher, "where rank and world size come from (auto: torchrun's variables, then srun's)",
          {"auto", "torchrun", "slurm", "none"});
  v.field("backend", c.backend, "collectives: auto = nccl on CUDA, gloo on CPU", {"auto", "gloo", "nccl"});
  v.field("port", c.port, "rendezvous port when MASTER_PORT is unset (Slurm)");
  v.field("timeout_s", c.timeout_s, "rendezvous and collective timeout in seconds");
  v.field("bucket_mb", c.bucket_mb, "gradient all-reduce bucket size in MB (DDP's bucket_cap_mb)");
}

template <class V> void visit(V& v, RunConfig& c) {
  v.field("seed", c.seed, "global random seed");
  v.field("out_dir", c.out_dir, "run directory (config, metrics, checkpoints)");
  v.section("model", [&] { visit(v, c.model); });
  v.section("init", [&] { visit(v, c.init); });
  v.section("diffusion", [&] { visit(v, c.diffusion); });
  v.section("data", [&] { visit(v, c.data); });
  v.section("optim", [&] { visit(v, c.optim); });
  v.section("train", [&] { visit(v, c.train); });
  v.section("sample", [&] { visit(v, c.sample); });
  v.section("eval", [&] { visit(v, c.eval); });
  v.section("checkpoint", [&] { visit(v, c.checkpoint); });
  v.section("dist", [&] { visit(v, c.dist); });
}

// Tracks the dotted path of the section being visited.
struct PathVisitor {
  std::vector<std::string> stack;
  std::string path(const std::string& key) const {
    std::string p;
    for (const auto& s : stack) p += s + ".";
    return p + key;
  }
  void section(const std::string& name, const std::function<void()>& body) {
    stack.push_back(name);
    body();
    stack.pop_back();
  }
};

ConfigKey::Kind kind_of(const std::int64_t&) { return ConfigKey::Kind::Int; }
ConfigKey::Kind kind_of(const double&) { return ConfigKey::Kind::Float; }
ConfigKey::Kind kind_of(const bool&) { return ConfigKey::Kind::Bool; }
ConfigKey::Kind kind_of(const std::string&) { return ConfigKey::Kind::String; }

struct KeyCollector : PathVisitor {
  std::vector<ConfigKey> keys;
  template <class T> void field(const std::string& key, T& value, const std::string& doc, Choices choices = {}) {
    keys.push_back({path(key), kind_of(value), std::move(choices), doc});
  }
};

struct JsonWriter : PathVisitor {
  Json root = Json::object();
  template <class T> void field(const std::string& key, T& value, const std::string&, Choices = {}) {
    Json* node = &root;
    for (const auto& s : stack) node = &(*node)[s];
    (*node)[key] = value;
  }
};

struct JsonReader : PathVisitor {
  const Json* root;
  template <class T> void field(const std::string& key, T& value, const std::string&, Choices = {}) {
    const Json* node = root;
    for (const auto& s : stack) node = &node->at(s);
    if (!node->contains(key)) throw Error("config is missing key '" + path(key) + "'");
    value = node->at(key).template get<T>();
  }
};

}  // namespace

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> keys = [] {
    KeyCollector collector;
    RunConfig defaults;
    visit(collector, defaults);
    return collector.keys;
  }();
  return keys;
}

const char* kind_name(ConfigKey::Kind kind) {
  switch (kind) {
    case ConfigKey::Kind::Int: return "integer";
    case ConfigKey::Kind::Float: return "number";
    case ConfigKey::Kind::Bool: return "boolean";
    case ConfigKey::Kind::String: return "string";
  }
  return "?";
}

Json config_to_json(const RunConfig& config) {
  JsonWriter writer;
  RunConfig copy = config;
  visit(writer, copy);
  return writer.root;
}

RunConfig config_from_json(const Json& resolved) {
  JsonReader reader;
  reader.root = &resolved;
  RunConfig config;
  visit(reader, config);
  return config;
}

}  // namespace unmask
