// `unmask sample`: rebuild the model from a checkpoint alone (config,
// tokenizer, EMA or raw weights), run a sampler, print text or write JSONL.
#include "unmask/sampling/run.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>

#include "unmask/config.h"
#include "unmask/model/checkpoint_model.h"
#include "unmask/sampling/prompt_template.h"
#include "unmask/sampling/sampler.h"
#include "unmask/util/error.h"
#include "unmask/util/fs.h"
#include "unmask/util/log.h"

namespace unmask {

namespace fs = std::filesystem;

namespace {

// A prompt template's ids: text pieces encoded, each [MASK:n] span n [MASK]
// ids that the sampler fills; everything else stays fixed.
std::vector<int> encode_template(const Tokenizer& tokenizer, const std::string& text) {
  std::vector<int> ids;
  for (const auto& piece : parse_prompt_template(text)) {
    if (piece.masks > 0) {
      ids.insert(ids.end(), static_cast<std::size_t>(piece.masks), tokenizer.special().mask);
    } else {
      const auto encoded = tokenizer.encode(piece.text);
      ids.insert(ids.end(), encoded.begin(), encoded.end());
    }
  }
  return ids;
}

}  // namespace

void run_sampling(const SampleCliRequest& q) {
  CheckpointModel m = load_checkpoint_model(q.checkpoint, q.device, q.no_ema);
  const RunConfig& config = m.config;
  const auto& tokenizer = m.tokenizer;
  const auto& objective = m.objective;
  auto& model = m.model;
  const bool ema = m.ema;

  SampleRequest r;
  r.sampler = q.sampler.empty() ? config.sample.sampler : q.sampler;
  r.num = q.num >= 0 ? q.num : config.sample.num;
  r.length = q.length >= 0 ? q.length : config.sample.length;
  r.steps = q.steps >= 0 ? q.steps : config.sample.steps;
  r.picker.temperature = q.temperature >= 0 ? q.temperature : config.sample.temperature;
  r.picker.top_k = q.top_k >= 0 ? q.top_k : config.sample.top_k;
  r.picker.top_p = q.top_p >= 0 ? q.top_p : config.sample.top_p;
  r.picker.draw = parse_draw(q.draw);
  r.filter = q.filter.empty() ? config.sample.filter : q.filter;
  r.seed = static_cast<std::uint64_t>(q.seed >= 0 ? q.seed : config.seed);
  if (!q.prompt.empty() && !q.prompt_file.empty()) throw Error("give --prompt or --prompt-file, not both");
  std::vector<std::string> prompt_texts;
  if (!q.prompt.empty()) prompt_texts.push_back(q.prompt);
  if (!q.prompt_file.empty()) {
    std::ifstream in(q.prompt_file);
    if (!in) throw Error("cannot read --prompt-file " + q.prompt_file);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) prompt_texts.push_back(line);
    if (prompt_texts.empty()) throw Error("--prompt-file " + q.prompt_file + " has no prompts (one per line)");
    if (q.num < 0) r.num = static_cast<std::int64_t>(prompt_texts.size());
  }
  for (const auto& text : prompt_texts) {
    r.prompts.push_back(encode_template(*tokenizer, text));
    const auto& ids = r.prompts.back();
    if (objective->causal() && std::count(ids.begin(), ids.end(), tokenizer->special().mask) > 0)
      throw Error("an ar checkpoint decodes left to right and cannot fill [MASK:n] spans; use a prefix prompt");
  }
  r.confidence = q.confidence;
  r.k_schedule = q.k_schedule;
  r.remask = q.remask;
  r.inner = q.inner;
  r.semi_ar_style = q.semi_ar_style.empty() ? config.sample.semi_ar_style : q.semi_ar_style;
  r.mask_bos = q.mask_bos || config.sample.mask_bos;
  r.block_size = q.block_size;
  // Positions the model was built for; semi_ar slides a window of this size over longer text.
  r.context = config.model.max_length - (config.model.time_conditioning == "prefix" ? 1 : 0);  // a prefix time token takes one
  if (config.diffusion.objective == "bd3lm") r.context = std::min(r.context, config.data.length);  // blocks as trained
  r.stop_at_eos = config.data.mode == "pad";
  r.T = config.diffusion.T;
  r.cuda_graph = q.cuda_graph;
  r.kv_cache = !q.no_kv_cache;
  r.autocast_bf16 = m.device.is_cuda() && config.train.precision != "fp32";

  if (q.show_steps) {
    // The first sample's canvas, still-masked positions shown as "_".
    // The step counter lives in the callback itself: this block ends before
    // sampling starts, so a reference to a local here would dangle.
    const Tokenizer& tok = *tokenizer;
    r.on_step = [&tok, step = std::int64_t{0}](const at::Tensor& x) mutable {
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
            (r.sampler == "cached" ? " (" + std::to_string(result.calls_saved) + " saved by the cache)" : "") +
            (ema ? " (EMA weights)" : ""));
  const bool cut = config.data.mode == "pad";
  std::string jsonl;
  for (std::int64_t i = 0; i < r.num; ++i) {
    const at::Tensor row = result.ids[i];
    // The last fixed position of this sample's template (BOS is position 0).
    std::int64_t last_fixed = 0;
    if (!r.prompts.empty()) {
      const auto& tpl = r.prompts[static_cast<std::size_t>(i) % r.prompts.size()];
      for (std::size_t k = 0; k < tpl.size(); ++k)
        if (tpl[k] != tokenizer->special().mask) last_fixed = static_cast<std::int64_t>(k) + 1;
    }
    const std::string text = decode_sample(*tokenizer, row, cut, last_fixed);
    if (q.out.empty()) {
      std::cout << text << "\n";
      continue;
    }
    // Pad-mode samples end at their first EOS past the template (inclusive),
    // in text and ids.
    const std::int64_t* begin = row.data_ptr<std::int64_t>();
    const std::int64_t* end = begin + row.numel();
    if (cut) {
      const std::int64_t* eos =
          std::find(begin + std::min<std::int64_t>(last_fixed + 1, row.numel()), end, tokenizer->special().eos);
      if (eos != end) end = eos + 1;
    }
    const std::vector<std::int64_t> ids(begin, end);
    const at::Tensor reveal_row = result.reveal_step[i].contiguous();
    const std::int64_t* reveal = reveal_row.data_ptr<std::int64_t>();
    const std::vector<std::int64_t> reveal_step(reveal, reveal + (end - begin));
    nlohmann::json line = {{"text", text}, {"ids", ids}, {"seed", result.seeds[static_cast<std::size_t>(i)]},
                           {"sampler", r.sampler}, {"steps", r.steps}, {"nfe", result.network_calls}, {"nfe_saved", result.calls_saved},
                           {"seconds", seconds}, {"tokenizer", tokenizer->fingerprint()},
                           {"reveal_step", reveal_step}};
    if (!prompt_texts.empty()) line["prompt"] = prompt_texts[static_cast<std::size_t>(i) % prompt_texts.size()];
    jsonl += line.dump() + "\n";
  }
  if (!q.out.empty()) write_file_atomic(q.out, jsonl);
}

}  // namespace unmask
