// `unmask sample`: rebuild the model from a checkpoint alone (config,
// tokenizer, EMA or raw weights), run a sampler, print text or write JSONL.
#include "unmask/sampling/run.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <iostream>

#include "unmask/config.h"
#include "unmask/diffusion/objective.h"
#include "unmask/diffusion/spindle.h"
#include "unmask/model/weights.h"
#include "unmask/sampling/sampler.h"
#include "unmask/train/checkpoint.h"
#include "unmask/util/error.h"
#include "unmask/util/fs.h"
#include "unmask/util/log.h"
#include "unmask/util/safetensors.h"

namespace unmask {

namespace fs = std::filesystem;

namespace {

// "The [MASK:5] sat on the [MASK:2]." → text pieces encoded, each [MASK:n]
// becoming n [MASK] ids that the sampler fills; everything else stays fixed.
std::vector<int> parse_template(const Tokenizer& tokenizer, const std::string& text) {
  std::vector<int> ids;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t open = text.find("[MASK:", pos);
    const std::string piece = text.substr(pos, open == std::string::npos ? std::string::npos : open - pos);
    if (!piece.empty())
      for (int id : tokenizer.encode(piece)) ids.push_back(id);
    if (open == std::string::npos) break;
    const std::size_t close = text.find(']', open);
    int n = 0;
    try {
      std::size_t used = 0;
      n = std::stoi(text.substr(open + 6, close - open - 6), &used);
      if (close == std::string::npos || used != close - open - 6 || n < 1) throw std::invalid_argument("n");
    } catch (const std::exception&) {
      throw Error("bad infilling span in --prompt near '" + text.substr(open, 12) + "' (write [MASK:n], n >= 1)");
    }
    ids.insert(ids.end(), static_cast<std::size_t>(n), tokenizer.special().mask);
    pos = close + 1;
  }
  return ids;
}

}  // namespace

void run_sampling(const SampleCliRequest& q) {
  const fs::path ckpt = find_checkpoint(q.checkpoint);
  ConfigBuilder builder;
  builder.merge_file((ckpt / "config.json").string());
  const RunConfig config = builder.build();
  if (!fs::exists(ckpt / "tokenizer" / kTokenizerMeta))
    throw Error("checkpoint " + ckpt.string() + " has no tokenizer (tokenizer/ is missing); it cannot turn ids into text");
  const auto tokenizer = load_tokenizer(ckpt / "tokenizer");

  if (q.device != "auto" && q.device != "cpu" && q.device != "cuda")
    throw Error("unknown --device '" + q.device + "' (valid: auto, cpu, cuda)");
  if (q.device == "cuda" && !torch::cuda::is_available()) throw Error("--device cuda but no CUDA device is available");
  const torch::Device device = (q.device == "cuda" || (q.device == "auto" && torch::cuda::is_available()))
                                   ? torch::Device(torch::kCUDA)
                                   : torch::Device(torch::kCPU);

  ObjectiveContext ctx{config.diffusion, tokenizer->special(), tokenizer->vocab_size(), {}};
  if (fs::exists(ckpt / "token_counts.safetensors")) {
    const at::Tensor counts = load_safetensors(ckpt / "token_counts.safetensors").tensors.at("counts");
    std::vector<std::int64_t> c(counts.data_ptr<std::int64_t>(), counts.data_ptr<std::int64_t>() + counts.numel());
    ctx.token_weights = spindle_token_weights(c, tokenizer->special().pad);
  }
  const auto objective = make_objective(ctx);
  auto model = make_backbone({config.model, tokenizer->vocab_size(), objective->causal(), config.diffusion.T});
  const bool ema = !q.no_ema && fs::exists(ckpt / "ema.safetensors");
  const fs::path weights = ckpt / (ema ? "ema.safetensors" : "model.safetensors");
  load_named_tensors(*model, load_safetensors(weights).tensors, weights.string(), {"__num_updates__"});
  model->to(device);
  model->eval();

  SampleRequest r;
  r.sampler = q.sampler.empty() ? config.sample.sampler : q.sampler;
  r.num = q.num >= 0 ? q.num : config.sample.num;
  r.length = q.length >= 0 ? q.length : config.sample.length;
  r.steps = q.steps >= 0 ? q.steps : config.sample.steps;
  r.picker.temperature = q.temperature >= 0 ? q.temperature : config.sample.temperature;
  r.picker.top_k = q.top_k >= 0 ? q.top_k : config.sample.top_k;
  r.picker.top_p = q.top_p >= 0 ? q.top_p : config.sample.top_p;
  r.seed = static_cast<std::uint64_t>(q.seed >= 0 ? q.seed : config.seed);
  if (!q.prompt.empty()) r.prompt = parse_template(*tokenizer, q.prompt);
  const bool infill = std::count(r.prompt.begin(), r.prompt.end(), tokenizer->special().mask) > 0;
  if (infill && objective->causal())
    throw Error("an ar checkpoint decodes left to right and cannot fill [MASK:n] spans; use a prefix prompt");
  r.confidence = q.confidence;
  r.k_schedule = q.k_schedule;
  if (q.block_size < 1) throw Error("--block-size must be at least 1");
  r.block_size = q.block_size;
  if (r.length > config.model.max_length && config.model.backbone == "bert")
    throw Error("--length " + std::to_string(r.length) + " exceeds the model's model.max_length " +
                std::to_string(config.model.max_length));

  if (q.show_steps) {
    // The first sample's canvas, still-masked positions shown as "_".
    const Tokenizer& tok = *tokenizer;
    std::int64_t step = 0;
    r.on_step = [&tok, &step](const at::Tensor& x) {
      const at::Tensor row = x[0].cpu();
      std::string line;
      std::vector<int> run;
      auto flush = [&] {
        line += tok.decode(run);
        run.clear();
      };
      for (std::int64_t i = 1; i < row.numel(); ++i) {
        const int id = static_cast<int>(row[i].item<std::int64_t>());
        if (id == tok.special().mask) {
          flush();
          line += "_";
        } else {
          run.push_back(id);
        }
      }
      flush();
      for (char& c : line)
        if (c == '\n') c = ' ';
      std::cerr << "step " << ++step << ": " << line << "\n";
    };
  }
  const auto start = std::chrono::steady_clock::now();
  const SampleResult result = run_sampler(*model, *objective, tokenizer->special(), r);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  log::info("sampled " + std::to_string(r.num) + " x " + std::to_string(r.length) + " tokens with " + r.sampler +
            " in " + std::to_string(seconds) + " s, " + std::to_string(result.network_calls) + " network calls" +
            (ema ? " (EMA weights)" : ""));
  const bool cut = config.data.mode == "pad";
  std::string jsonl;
  for (std::int64_t i = 0; i < r.num; ++i) {
    const at::Tensor row = result.ids[i];
    const std::string text = decode_sample(*tokenizer, row, cut);
    if (q.out.empty()) {
      std::cout << text << "\n";
      continue;
    }
    const std::vector<std::int64_t> ids(row.data_ptr<std::int64_t>(), row.data_ptr<std::int64_t>() + row.numel());
    jsonl += nlohmann::json({{"text", text}, {"ids", ids}, {"seed", result.seeds[static_cast<std::size_t>(i)]},
                             {"sampler", r.sampler}, {"steps", r.steps}, {"nfe", result.network_calls},
                             {"seconds", seconds}})
                 .dump() +
             "\n";
  }
  if (!q.out.empty()) write_file_atomic(q.out, jsonl);
}

}  // namespace unmask
