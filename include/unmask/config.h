// The typed run configuration (docs/CONFIG.md). Defaults live in the structs;
// JSON files are merged over them in order, then `--set a.b=value` overrides.
// Unknown keys and wrong types are errors naming the full key path and the
// nearest valid key. Field lists (with one-line docs and allowed values) are
// declared once, in src/config_schema.cpp.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace unmask {

using Json = nlohmann::ordered_json;

struct ModelConfig {
  std::string backbone = "dit";            // bert | dit | gpt2 (ar only)
  std::int64_t hidden = 768;
  std::int64_t layers = 12;
  std::int64_t heads = 12;
  double mlp_ratio = 4.0;
  double dropout = 0.1;
  std::int64_t max_length = 1024;          // positions the model supports
  std::string time_conditioning = "none";  // none | layerwise | prefix | adaln
  std::int64_t cond_dim = 128;             // width of the time embedding (DiT adaLN input)
  bool tie_embeddings = true;
  std::int64_t vocab_size = 0;             // output rows; 0 = the tokenizer's vocabulary
  std::string variant = "bert";            // bert backbone: bert | roberta (positions from 2, LayerNorm eps 1e-5)
  double layer_norm_eps = 0;               // bert backbone: LayerNorm epsilon (0: the variant's, 1e-12 or 1e-5)
};

// Where the weights of step 0 come from (docs/PRETRAINED.md): an HF model directory
// or an unmask checkpoint; "" = random initialisation.
struct InitConfig {
  std::string from;
};

struct DiffusionConfig {
  std::string objective = "mdlm";     // mdlm | d3pm | diffusionbert | mlm | roberta_diffusion | ar | bd3lm
  std::string schedule = "loglinear"; // loglinear | d3pm | linear | cosine | spindle
  std::int64_t T = 0;                 // 0 = continuous time
  double eps = 1e-3;                  // log-linear ε
  double hybrid_lambda = 0.01;        // D3PM hybrid loss weight
  double spindle_lambda = 0.3;        // DiffusionBERT λ
  double mask_ratio = 0.15;           // MLM
  std::int64_t prompt_length = 0;     // RoBERTa-diffusion: leading tokens never masked
  bool antithetic = true;             // low-discrepancy t draws
  std::int64_t block_size = 0;        // bd3lm: tokens per block L′ (divides data.length)
  double clip_min = 1e-3;             // bd3lm training: t ~ U[clip_min, clip_max] (BD3-LM's clipped schedule)
  double clip_max = 1.0;
  bool clip_search = false;           // bd3lm: re-choose [clip_min, clip_max] at every validation pass
};

struct DataConfig {
  std::string path;                   // prepared shards (unmask data prepare --out)
  std::string mode = "pad";           // pad | wrap
  std::int64_t length = 128;          // tokens per row, BOS/EOS included
  bool shuffle = true;
  bool pad_loss = false;              // pad rows: train on the [PAD] positions after EOS (LLaDA)
};

struct OptimConfig {
  std::string name = "adamw";
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double grad_clip = 1.0;
  bool fused = true;  // one fused AdamW kernel per group (FusedAdamW); false: LibTorch's per-parameter AdamW
};

struct TrainConfig {
  std::int64_t batch_size = 512;      // global batch (sequences)
  std::int64_t grad_accum = 1;
  bool masked_head = true;            // output head at the masked rows only, where the loss reads nothing else
  std::int64_t max_steps = 1000000;
  double lr = 3e-4;
  std::int64_t warmup_steps = 2500;
  std::string lr_schedule = "constant";  // constant | cosine | linear
  double ema = 0.9999;                // 0 disables EMA
  std::string precision = "auto";     // auto | fp32 | bf16
  std::string device = "auto";        // auto | cpu | cuda
  std::int64_t log_every = 50;
  std::int64_t eval_every = 1000;
  std::int64_t val_batches = 16;      // batches per validation pass
  std::int64_t sample_every = 1000;   // steps between sample printouts (0 = off)
  std::int64_t checkpoint_every = 1000;
  std::string nonfinite = "skip";     // skip | stop: what a NaN/inf loss or gradient does
  std::int64_t max_nonfinite = 10;    // stop after this many non-finite steps in a row
  std::int64_t threads = 0;           // CPU threads for LibTorch (0 = its default)
};

struct SampleConfig {
  std::string sampler = "ancestral";
  std::int64_t steps = 1000;
  std::int64_t num = 8;
  std::int64_t length = 128;
  double temperature = 1.0;
  std::int64_t top_k = 0;             // 0 = off
  double top_p = 1.0;
  std::string filter = "x0";          // x0 | reverse: what temperature/top-k/top-p filter (see SampleRequest)
  std::string semi_ar_style = "llada"; // semi_ar: llada | mdlm (see SampleRequest)
  bool mask_bos = false;              // start from an all-[MASK] canvas, BOS included (MDLM)
};

struct EvalConfig {
  std::string split = "val";
  std::int64_t batch_size = 32;
  std::int64_t draws = 4;         // Monte-Carlo rounds over t for continuous-time ELBOs (standard error from them)
  std::int64_t stride = 1;        // discrete T: evaluate every stride-th step
  std::string stride_mode = "chain";  // chain (the s-step chain's KLs) | weighted (s × one-step KL)
  std::int64_t max_rows = 0;      // rows of the split to evaluate (0 = all)
  std::string scorer;             // ar checkpoint for gen-ppl in `eval all` ("" = skip gen-ppl)
  std::int64_t num_refs = 10000;  // eval all: documents of the split used as BLEU references
};

struct CheckpointConfig {
  std::int64_t keep_last = 3;
  std::int64_t keep_every = 0;        // also keep every M-th step (0 = off)
};

struct DistConfig {
  std::string launcher = "auto";      // auto | torchrun | slurm | none: where rank and world size come from
  std::string backend = "auto";       // auto (nccl on CUDA, gloo on CPU) | gloo | nccl
  std::int64_t port = 29500;          // rendezvous port when MASTER_PORT is unset (Slurm)
  std::int64_t timeout_s = 600;       // rendezvous and collective timeout: a lost rank ends the job after this
  double bucket_mb = 25;              // gradient all-reduce bucket size (DDP's bucket_cap_mb)
};

struct RunConfig {
  std::int64_t seed = 1;
  std::string out_dir = "runs/unmask";
  ModelConfig model;
  InitConfig init;
  DiffusionConfig diffusion;
  DataConfig data;
  OptimConfig optim;
  TrainConfig train;
  SampleConfig sample;
  EvalConfig eval;
  CheckpointConfig checkpoint;
  DistConfig dist;
};

// One leaf of the tree, as `config dump --keys` lists it.
struct ConfigKey {
  enum class Kind { Int, Float, Bool, String };
  std::string path;                   // "model.hidden"
  Kind kind;
  std::vector<std::string> choices;   // empty = free
  std::string doc;
};

const std::vector<ConfigKey>& config_keys();
const char* kind_name(ConfigKey::Kind kind);

Json config_to_json(const RunConfig& config);
RunConfig config_from_json(const Json& resolved);  // `resolved` must be complete and valid

// Rules that involve several keys (sizes that must divide, objective and
// schedule combinations, value ranges); Error naming the keys otherwise.
void validate_run_config(const RunConfig& config);

// Accumulates defaults, files and overrides; every step validates.
class ConfigBuilder {
 public:
  ConfigBuilder();
  void merge_file(const std::string& path);
  void merge_json(const Json& patch, const std::string& origin);
  void set(const std::string& assignment);  // "a.b=value"
  const Json& json() const { return resolved_; }
  RunConfig build() const { return config_from_json(resolved_); }

 private:
  void merge_into(Json& target, const Json& patch, const std::string& prefix, const std::string& origin);
  Json resolved_;
};

// Defaults, then `files` in order, then `overrides` ("a.b=value").
RunConfig load_config(const std::vector<std::string>& files, const std::vector<std::string>& overrides,
                      Json* resolved = nullptr);

}  // namespace unmask
