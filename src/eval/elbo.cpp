// ELBO evaluation over a split (MDLM Eq. 10 by Monte-Carlo, D3PM/DiffusionBERT
// by the sum over steps, AR exact), plus the tokenizer-independent bits per
// byte and DiffusionBERT's per-word perplexity from the decoded rows.
#include "unmask/model/model_loss.h"
#include "unmask/eval/elbo.h"

#include <torch/torch.h>

#include <cmath>
#include <sstream>

#include "unmask/data/dataset.h"
#include "unmask/util/autocast.h"
#include "unmask/util/error.h"
#include "unmask/util/text.h"
#include "unmask/util/progress.h"

namespace unmask {
namespace {

// The steps of the discrete sum: k = T, T − s, ..., each going down to k − s
// (the last one to 0), so the step lengths add to T.
std::vector<std::pair<std::int64_t, std::int64_t>> step_grid(std::int64_t T, std::int64_t stride) {
  std::vector<std::pair<std::int64_t, std::int64_t>> grid;
  for (std::int64_t k = T; k >= 1; k -= stride) grid.emplace_back(k, std::min(stride, k));
  return grid;
}

std::int64_t count_words(const std::string& text) {
  std::istringstream in(text);
  std::int64_t n = 0;
  for (std::string w; in >> w;) ++n;
  return n;
}

}  // namespace

ElboResult evaluate_elbo(RunModel& m, const std::filesystem::path& data, const ElboOptions& o) {
  const RunConfig& c = m.config;
  const Objective& objective = *m.objective;
  if (!objective.is_bound())
    throw Error("diffusion.objective=" + objective.name() +
                " is not a likelihood bound, so it has no ELBO perplexity (bounds: " + join(bound_objective_names(), ", ") +
                ")");
  if (o.batch_size < 1) throw Error("the evaluation batch size must be at least 1");
  if (o.draws < 1) throw Error("--draws must be at least 1");
  if (o.stride < 1) throw Error("--stride must be at least 1");
  if (o.stride_mode != "chain" && o.stride_mode != "weighted")
    throw Error("unknown stride mode '" + o.stride_mode + "' (valid: chain, weighted)");
  const ShardedSplit split(data, o.split, m.tokenizer->fingerprint());
  const RowSource rows(split, parse_row_mode(c.data.mode), c.data.length, c.data.pad_loss);
  const std::int64_t n_rows = o.max_rows > 0 ? std::min<std::int64_t>(o.max_rows, static_cast<std::int64_t>(rows.num_rows()))
                                             : static_cast<std::int64_t>(rows.num_rows());
  if (n_rows == 0)
    throw Error("split '" + o.split + "' of " + data.string() + " has no rows of length " + std::to_string(c.data.length));

  ElboResult r;
  r.method = objective.causal() ? "exact" : (c.diffusion.T > 0 ? "discrete_sum" : "monte_carlo");
  r.draws = r.method == "monte_carlo" ? o.draws : 1;
  r.stride = r.method == "discrete_sum" ? o.stride : 0;
  r.stride_mode = r.method == "discrete_sum" ? o.stride_mode : "";
  const bool chain = o.stride_mode == "chain";
  const auto grid = step_grid(c.diffusion.T, o.stride);
  r.steps_evaluated = r.method == "discrete_sum" ? static_cast<std::int64_t>(grid.size()) : 0;
  std::vector<double> round_sums(static_cast<std::size_t>(r.draws), 0.0);  // nats, per Monte-Carlo round

  torch::NoGradGuard no_grad;
  const bool bf16 = m.device.is_cuda() && c.train.precision != "fp32";
  auto gen = at::detail::createCPUGenerator(o.seed);
  const std::int64_t L = c.data.length;
  const SpecialTokens& special = m.tokenizer->special();
  std::unique_ptr<Progress> progress;
  if (o.progress) progress = std::make_unique<Progress>("eval ppl", static_cast<std::uint64_t>(n_rows), "rows");
  for (std::int64_t start = 0; start < n_rows; start += o.batch_size) {
    const std::int64_t b = std::min(o.batch_size, n_rows - start);
    at::Tensor tokens = torch::empty({b, L}, torch::kLong);  // (B, L)
    at::Tensor mask = torch::empty({b, L}, torch::kBool);    // (B, L) true at real tokens
    for (std::int64_t i = 0; i < b; ++i) {
      auto* ids = tokens.data_ptr<std::int64_t>() + i * L;
      rows.row(static_cast<std::uint64_t>(start + i), ids, mask.data_ptr<bool>() + i * L);
      std::vector<int> text_ids;
      for (std::int64_t j = 0; j < L; ++j)
        if (ids[j] != special.pad && ids[j] != special.bos && ids[j] != special.eos && ids[j] != special.mask)
          text_ids.push_back(static_cast<int>(ids[j]));
      const std::string text = m.tokenizer->decode(text_ids);
      r.bytes += static_cast<std::int64_t>(text.size());
      r.words += count_words(text);
    }
    Batch batch{tokens.to(m.device), mask.to(m.device), !mask.all().item<bool>()};
    const at::Tensor attention = batch.has_padding ? batch.pad_mask : at::Tensor();
    auto nelbo = [&](const Noised& n) {  // NELBO estimate summed over the batch (nats)
      const LossOutput out = model_loss(*m.model, objective, batch, n, attention, bf16, /*masked_head=*/true);
      return std::make_pair(out.nelbo_sum.item<double>(), out.tokens.item<std::int64_t>());
    };
    std::int64_t batch_tokens = 0;
    if (r.method == "discrete_sum") {
      // Σ_k L_k (D3PM Eq. 3). Stride s, chain: the KLs of the steps k → k − s
      // of the coarser chain (DiffusionBERT compute_elbo.py, eval_step_size),
      // itself a bound; weighted: s·L_k, the loss's nelbo_sum T·L_k scaled by s/T.
      double sum = 0;
      const auto opts = torch::TensorOptions().dtype(torch::kFloat64).device(m.device);
      for (const auto& [k, weight] : grid) {
        const double T = static_cast<double>(c.diffusion.T);
        Noised n = objective.corrupt_at(batch, torch::full({b}, static_cast<double>(k) / T, opts), gen);
        if (chain) n.t_prev = torch::full({b}, static_cast<double>(k - weight) / T, opts);
        const auto [value, count] = nelbo(n);
        sum += chain ? value : value * static_cast<double>(weight) / T;
        batch_tokens = count;
      }
      round_sums[0] += sum;
    } else {
      for (std::int64_t d = 0; d < r.draws; ++d) {  // exact for ar: its corruption is the identity
        const auto [value, count] = nelbo(objective.corrupt_bound(batch, gen));
        round_sums[static_cast<std::size_t>(d)] += value;
        batch_tokens = count;
      }
    }
    r.tokens += batch_tokens;
    r.rows += b;
    if (progress) progress->advance(static_cast<std::uint64_t>(b));
  }
  if (progress) progress->finish();

  double mean = 0;
  for (double s : round_sums) mean += s / static_cast<double>(r.tokens);
  mean /= static_cast<double>(round_sums.size());
  if (round_sums.size() > 1) {  // standard error of the mean of independent rounds
    double var = 0;
    for (double s : round_sums) var += std::pow(s / static_cast<double>(r.tokens) - mean, 2);
    var /= static_cast<double>(round_sums.size() - 1);
    r.std_error = std::sqrt(var / static_cast<double>(round_sums.size()));
  }
  const double total_nats = mean * static_cast<double>(r.tokens);
  r.nelbo_per_token = mean;
  r.ppl = std::exp(mean);
  r.bpb = r.bytes > 0 ? total_nats / (std::log(2.0) * static_cast<double>(r.bytes)) : 0.0;
  r.per_word_ppl = r.words > 0 ? std::exp(total_nats / static_cast<double>(r.words)) : 0.0;
  r.nelbo_per_row = r.rows > 0 ? total_nats / static_cast<double>(r.rows) : 0.0;
  return r;
}

}  // namespace unmask
