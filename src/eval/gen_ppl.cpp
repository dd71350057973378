// Scoring with an AR checkpoint: each sample becomes [BOS] ids, cut into
// chunks of the scorer's context (MDLM eval: samples.split(context)); the
// first token of a chunk is context only, every other token is scored by
// −log p(x_i | x_<i within the chunk).
#include "unmask/eval/gen_ppl.h"

#include "unmask/eval/text_stats.h"

#include "unmask/diffusion/masking.h"

#include <torch/torch.h>

#include <cmath>

#include "unmask/util/autocast.h"
#include "unmask/util/error.h"

namespace unmask {

void require_ar_scorer(const RunModel& scorer) {
  if (!scorer.objective->causal())
    throw Error("the scorer " + scorer.dir.string() + " was trained with diffusion.objective=" +
                scorer.objective->name() + "; gen-ppl needs an autoregressive (ar) checkpoint");
}

GenPplResult score_samples(RunModel& scorer, const std::vector<std::vector<std::int64_t>>& samples,
                           std::int64_t batch_size) {
  require_ar_scorer(scorer);
  if (batch_size < 1) throw Error("the scoring batch size must be at least 1");
  const SpecialTokens& special = scorer.tokenizer->special();
  const std::int64_t context = std::min(scorer.config.model.max_length, scorer.config.data.length);
  struct Chunk {
    std::size_t sample;
    std::vector<std::int64_t> ids;
  };
  std::vector<Chunk> chunks;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    std::vector<std::int64_t> row = {special.bos};
    row.insert(row.end(), samples[i].begin(), samples[i].end());
    for (std::size_t begin = 0; begin + 1 < row.size(); begin += static_cast<std::size_t>(context))
      chunks.push_back({i, std::vector<std::int64_t>(row.begin() + static_cast<std::ptrdiff_t>(begin),
                                                     row.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                                       row.size(), begin + static_cast<std::size_t>(context))))});
  }
  std::vector<double> nll(samples.size(), 0.0);
  std::vector<std::int64_t> count(samples.size(), 0);
  torch::NoGradGuard no_grad;
  const bool bf16 = scorer.device.is_cuda() && scorer.config.train.precision != "fp32";
  for (std::size_t start = 0; start < chunks.size(); start += static_cast<std::size_t>(batch_size)) {
    const std::size_t end = std::min(chunks.size(), start + static_cast<std::size_t>(batch_size));
    std::int64_t width = 0;
    for (std::size_t c = start; c < end; ++c) width = std::max<std::int64_t>(width, static_cast<std::int64_t>(chunks[c].ids.size()));
    const auto b = static_cast<std::int64_t>(end - start);
    at::Tensor x = torch::full({b, width}, special.pad, torch::kLong);  // (B, W)
    at::Tensor real = torch::zeros({b, width}, torch::kBool);           // (B, W)
    for (std::int64_t r = 0; r < b; ++r) {
      const auto& ids = chunks[start + static_cast<std::size_t>(r)].ids;
      std::copy(ids.begin(), ids.end(), x.data_ptr<std::int64_t>() + r * width);
      real[r].narrow(0, 0, static_cast<std::int64_t>(ids.size())).fill_(true);
    }
    at::Tensor logits;
    {
      const AutocastGuard autocast(scorer.device.type(), bf16);
      logits = scorer.model->forward(x.to(scorer.device), at::Tensor(), real.to(scorer.device));  // (B, W, V)
    }
    // [MASK] excluded from the softmax when the scorer's training excluded it
    // (diffusion/ar.cpp); an imported model keeps its own distribution, a
    // <mask> of its tokenizer included (the [MASK] import appends has no logit).
    // The log-probabilities of the next tokens are gathered on the device: only
    // (B, W−1) numbers come back to the host, never the (B, W−1, V) tensor.
    const at::Tensor head = logits.narrow(1, 0, width - 1);
    const at::Tensor lp =  // (B, W−1, V) on the scorer's device
        scorer.trained ? log_probs_without_mask(head, special.mask) : head.to(torch::kFloat32).log_softmax(-1);
    const at::Tensor next = x.narrow(1, 1, width - 1).to(scorer.device).unsqueeze(-1);            // (B, W−1, 1)
    const at::Tensor token_nll = -lp.gather(-1, next).squeeze(-1).to(torch::kFloat64).cpu();     // (B, W−1)
    const at::Tensor scored = real.narrow(1, 1, width - 1);
    const at::Tensor per_row = torch::where(scored, token_nll, 0.0).sum(1).contiguous();        // (B)
    const at::Tensor per_row_count = scored.sum(1).contiguous();                                 // (B) int64
    for (std::int64_t r = 0; r < b; ++r) {
      const std::size_t s = chunks[start + static_cast<std::size_t>(r)].sample;
      nll[s] += per_row.data_ptr<double>()[r];
      count[s] += per_row_count.data_ptr<std::int64_t>()[r];
    }
  }
  GenPplResult out;
  out.context = context;
  double total = 0;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    total += nll[i];
    out.tokens += count[i];
    out.sample_ppl.push_back(count[i] > 0 ? std::exp(nll[i] / static_cast<double>(count[i])) : 0.0);
  }
  if (out.tokens == 0) throw Error("the samples have no tokens to score");
  out.nll_per_token = total / static_cast<double>(out.tokens);
  out.gen_ppl = std::exp(out.nll_per_token);
  return out;
}

nlohmann::ordered_json gen_ppl_report(RunModel& scorer, const std::vector<eval_detail::ScoredSample>& samples, std::int64_t batch_size) {
  std::vector<std::vector<std::int64_t>> ids, content;
  for (const auto& s : samples) {
    ids.push_back(s.ids);
    content.push_back(s.content);
  }
  const GenPplResult g = score_samples(scorer, ids, batch_size);
  const TextStats st = text_stats(content);
  nlohmann::ordered_json j{{"gen_ppl", g.gen_ppl}, {"entropy", st.mean_entropy}, {"nll_per_token", g.nll_per_token},
         {"tokens", g.tokens}, {"samples", static_cast<std::int64_t>(samples.size())}};
  double mean = 0;
  for (double p : g.sample_ppl) mean += p / static_cast<double>(g.sample_ppl.size());
  j["mean_sample_ppl"] = mean;
  j["diversity"] = eval_detail::stats_json(st);
  j["scorer"] = scorer.dir.string();
  j["scorer_context"] = g.context;
  j["per_sample"] = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const SampleTextStats& s = st.per_sample[i];
    j["per_sample"].push_back(nlohmann::ordered_json{{"ppl", g.sample_ppl[i]}, {"tokens", s.tokens}, {"entropy", s.entropy},
                                   {"distinct_1", s.distinct(1)}, {"distinct_4", s.distinct(4)}, {"rep_4", s.rep4()}});
  }
  return j;
}

}  // namespace unmask
