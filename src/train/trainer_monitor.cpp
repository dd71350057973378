// Monitoring a training run: validation on fixed batches (summed over
// ranks), sample printouts, and metrics.jsonl (rank 0 writes).
#include <torch/torch.h>

#include <sstream>

#include "trainer_impl.h"
#include "unmask/diffusion/clip_search.h"
#include "unmask/model/model_loss.h"
#include "unmask/run/layout.h"
#include "unmask/sampling/request.h"
#include "unmask/util/autocast.h"
#include "unmask/util/fs.h"
#include "unmask/util/log.h"

namespace unmask {

// Mean NELBO per token (or loss, for objectives that are no bound) over the
// first train.val_batches batches of the val split, with EMA weights and a
// fixed corruption seed so that values are comparable across steps.
DataLoader Trainer::Impl::validation_loader() const {
  const RunConfig& c = config();
  LoaderOptions lo;
  lo.mode = parse_row_mode(c.data.mode);
  lo.length = c.data.length;
  lo.pad_loss = c.data.pad_loss;
  lo.batch_size = std::max<std::int64_t>(1, c.train.batch_size / c.train.grad_accum);
  lo.shuffle = false;
  return DataLoader(val_split, lo);
}

double Trainer::Impl::validate() {
  const RunConfig& c = config();
  DataLoader val = validation_loader();
  auto gen = at::detail::createCPUGenerator(static_cast<std::uint64_t>(c.seed) + 12345);
  if (ema) ema->swap_in(*model);
  model->eval();
  double sum = 0, count = 0;
  {
    torch::NoGradGuard guard;
    for (std::int64_t i = 0; i < c.train.val_batches; ++i) {
      // The whole batch is corrupted on every rank; each evaluates its rows.
      const Batch global = to_device(val.next(), device);
      const Batch b = dp->shard(global);
      const Noised n = dp->shard(objective->corrupt_bound(global, gen));  // the NELBO, not a clipped range
      const LossOutput out = model_loss(*model, *objective, b, n, attention_mask(b), bf16, c.train.masked_head);
      if (objective->is_bound()) {
        sum += out.nelbo_sum.item<double>();
        count += out.tokens.item<double>();
      } else {
        sum += out.loss_sum.item<double>();
        count += out.denominator.item<double>();
      }
    }
  }
  model->train();
  if (ema) ema->swap_out(*model);
  const auto total = dp->sum({sum, count});
  if (c.diffusion.clip_search) choose_clip();
  return total[0] / std::max(1.0, total[1]);
}

// Every rank evaluates the whole validation batches, so every rank makes the
// same choice without communicating. bd3lms gathers the per-block losses of
// all ranks instead; the statistic is the same.
void Trainer::Impl::choose_clip() {
  auto* clipped = dynamic_cast<ClippedObjective*>(objective.get());
  if (!clipped) return;
  const RunConfig& c = config();
  DataLoader val = validation_loader();
  auto gen = at::detail::createCPUGenerator(static_cast<std::uint64_t>(c.seed) + 54321);
  ClipSearch search(clip_candidates(c.diffusion.eps));
  if (ema) ema->swap_in(*model);
  model->eval();
  {
    torch::NoGradGuard guard;
    for (std::int64_t i = 0; i < c.train.val_batches; ++i) {
      const Batch batch = to_device(val.next(), device);
      for (std::size_t k = 0; k < search.candidates().size(); ++k) {
        const Noised n = clipped->corrupt_in(batch, search.candidates()[k], gen);
        at::Tensor logits;  // (B, L, V)
        {
          const AutocastGuard autocast(device.type(), bf16);
          logits = model->forward_blocks(n.x_t, n.context, n.cond, attention_mask(batch), n.block_size, at::Tensor());
        }
        search.add(k, clipped->block_losses(logits.to(torch::kFloat32), batch, n));
      }
    }
  }
  model->train();
  if (ema) ema->swap_out(*model);
  const ClipRange before = clipped->clip(), best = search.best();
  clipped->set_clip(best);
  std::ostringstream msg;
  msg << "step " << step << ": clip search chose t ~ U[" << best.lo << ", " << best.hi << "] (was [" << before.lo
      << ", " << before.hi << "]; variance " << search.variance(0) << " for [" << search.candidates()[0].lo << ", 1], ";
  for (std::size_t k = 0; k < search.candidates().size(); ++k)
    if (search.candidates()[k].lo == best.lo && search.candidates()[k].hi == best.hi) msg << search.variance(k);
  msg << " for the choice)";
  log::info(msg.str());
}

// A few samples with the EMA weights, logged and appended to samples.jsonl.
// Own random streams and eval mode: the training RNG is untouched.
void Trainer::Impl::print_samples() {
  const RunConfig& c = config();
  SampleOverrides o;
  o.sampler = "ancestral";  // previews: the default sampler, whatever sample.sampler says
  o.num = std::min<std::int64_t>(c.sample.num, 4);
  std::int64_t length = std::min(c.sample.length, c.data.length);
  if (const std::int64_t bs = objective->block_size(); bs > 0) length = std::max(bs, length - length % bs);
  o.length = length;
  o.steps = std::min(c.sample.steps, length);  // more steps than tokens adds nothing to a preview
  o.mask_bos = c.sample.mask_bos && !objective->causal();
  o.seed = static_cast<std::uint64_t>(c.seed) + static_cast<std::uint64_t>(step);
  const SampleRequest r = sample_request(c, *tokenizer, o);
  if (ema) ema->swap_in(*model);
  model->eval();
  const SampleResult out = run_sampler(*model, *objective, tokenizer->special(), r);
  model->train();
  if (ema) ema->swap_out(*model);
  std::ofstream file(run_dir / run_files::kSamples, std::ios::app);
  for (std::int64_t i = 0; i < r.num; ++i) {
    const std::string text = decode_sample(*tokenizer, out.ids[i], c.data.mode == "pad");
    log::info("step " + std::to_string(step) + " sample " + std::to_string(i) + ": " + text);
    file << Json({{"step", step}, {"index", i}, {"text", text}, {"nfe", out.network_calls}}).dump() << "\n";
  }
}

void Trainer::Impl::write_metrics(const Json& line) {
  if (!dp->is_main()) return;
  metrics << line.dump() << "\n";
  metrics.flush();
}

// After a resume, drop what the interrupted run logged past its checkpoint.
void Trainer::Impl::truncate_metrics(std::int64_t keep_through) {
  const fs::path path = run_dir / run_files::kMetrics;
  if (!fs::exists(path)) return;
  std::istringstream in(read_file(path));
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    try {
      if (Json::parse(line).value("step", std::int64_t{0}) <= keep_through) kept += line + "\n";
    } catch (const std::exception&) {  // a line cut by a kill
    }
  }
  write_file_atomic(path, kept);
}

}  // namespace unmask
