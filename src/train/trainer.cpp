// The training loop: batches → corruption → accumulated gradients → AdamW,
// with EMA, validation, metrics, checkpoints and exact resume; on N ranks,
// each trains on its share of the global batch (distributed/data_parallel.h).
#include "unmask/train/trainer.h"

#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>

#include "trainer_impl.h"
#include "unmask/diffusion/spindle.h"
#include "unmask/distributed/grad_sync.h"
#include "unmask/interop/init_from.h"
#include "unmask/model/model_loss.h"
#include "unmask/run/checkpoint.h"
#include "unmask/run/layout.h"
#include "unmask/run/run_model.h"
#include "unmask/train/fused_adamw.h"
#include "unmask/train/lr_schedule.h"
#include "unmask/util/autocast.h"
#include "unmask/util/error.h"
#include "unmask/util/log.h"
#include "unmask/util/progress.h"
#include "unmask/util/text.h"

namespace unmask {
namespace {

std::atomic<int> g_stop_signal{0};
extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }

// Every gradient × scale, in one foreach operation (not one per parameter).
void scale_gradients(BackboneImpl& model, double scale) {
  torch::NoGradGuard guard;
  std::vector<at::Tensor> grads;
  for (auto& p : model.parameters())
    if (p.grad().defined()) grads.push_back(p.grad());
  if (!grads.empty()) at::_foreach_mul_(grads, scale);
}

}  // namespace

GradResult accumulate_gradients(BackboneImpl& model, const Objective& objective, const Batch& batch,
                                const Noised& noised, std::int64_t chunks, bool autocast_bf16, GradSync* sync,
                                bool masked_head) {
  const std::int64_t B = batch.tokens.size(0);
  if (chunks < 1 || B % chunks != 0)
    throw Error("batch of " + std::to_string(B) + " rows cannot be split into " + std::to_string(chunks) + " chunks");
  const std::int64_t size = B / chunks;
  GradResult r;
  bool bound = true;
  for (std::int64_t c = 0; c < chunks; ++c) {
    const Batch part = slice_rows(batch, c * size, size);
    const Noised n = slice_rows(noised, c * size, size);
    const bool last = c == chunks - 1;
    if (sync) sync->before_forward(last);
    const LossOutput out = model_loss(model, objective, part, n, attention_mask(part), autocast_bf16, masked_head);
    // One chunk alone: back-propagate the normalised loss and skip the
    // rescaling pass. Data parallel: the sums, rescaled by the caller once the
    // global denominator is known; only the last chunk's backward all-reduces.
    if (sync && last) sync->before_backward(out.loss_sum);
    (chunks == 1 && !sync ? out.loss : out.loss_sum).backward();
    r.loss_sum += out.loss_sum.item<double>();
    r.denominator += out.denominator.item<double>();
    r.tokens += out.tokens.item<double>();
    if (out.nelbo_sum.defined()) r.nelbo_sum += out.nelbo_sum.item<double>();
    else bound = false;
  }
  if (!bound) r.nelbo_sum = std::nan("");
  if (chunks > 1 && !sync) {
    scale_gradients(model, 1.0 / std::max(1.0, r.denominator));
  }
  return r;
}

void Trainer::Impl::setup() {
  const RunConfig& c = config();
  validate_run_config(c);
  if (c.train.threads > 0) at::set_num_threads(static_cast<int>(c.train.threads));
  const std::string dev = c.train.device;
  if (dev == "cuda" && !torch::cuda::is_available())
    throw Error("train.device=cuda but no CUDA device is available (use auto or cpu)");
  const LaunchInfo launch = read_launch([](const char* name) { return std::getenv(name); }, c.dist.launcher, c.dist.port);
  device = torch::Device(torch::kCPU);
  if (dev == "cuda" || (dev == "auto" && torch::cuda::is_available())) {
    // One process per GPU: LOCAL_RANK (SLURM_LOCALID) picks it, unless the
    // launcher already gave each process one GPU (CUDA_VISIBLE_DEVICES).
    const auto gpus = static_cast<std::int64_t>(torch::cuda::device_count());
    if (gpus > 1 && launch.local_rank >= gpus)
      throw Error("local rank " + std::to_string(launch.local_rank) + " has no GPU: this node has " +
                  std::to_string(gpus) + " (start at most that many processes per node)");
    device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(gpus == 1 ? 0 : launch.local_rank));
    c10::impl::getDeviceGuardImpl(device.type())->setDevice(device);
  }
  bf16 = c.train.precision == "bf16" || (c.train.precision == "auto" && device.is_cuda());
  if (device.is_cuda()) at::globalContext().setFloat32MatmulPrecision("high");  // TF32 where it applies
  const std::int64_t shares = launch.world_size * c.train.grad_accum;
  if (c.train.batch_size % shares != 0)
    throw Error("train.batch_size (" + std::to_string(c.train.batch_size) + ") must be divisible by the world size (" +
                std::to_string(launch.world_size) + ") times train.grad_accum (" + std::to_string(c.train.grad_accum) +
                "): each rank takes batch_size/world_size rows in grad_accum micro-batches");
  if (launch.rank != 0) log::set_level("warn");  // rank 0 alone logs
  dp = std::make_unique<DataParallel>(launch, c.dist, device);

  if (c.data.path.empty()) throw Error("data.path is not set: point it at a directory made by 'unmask data prepare'");
  tokenizer = load_tokenizer(fs::path(c.data.path) / "tokenizer");
  train_split = std::make_shared<const ShardedSplit>(c.data.path, "train", tokenizer->fingerprint());
  try {
    val_split = std::make_shared<const ShardedSplit>(c.data.path, "val", tokenizer->fingerprint());
  } catch (const Error& e) {
    log::warn(std::string("no validation split, validation is off: ") + e.what());
  }

  torch::manual_seed(static_cast<std::uint64_t>(c.seed));
  at::Tensor token_weights;  // (V) spindle schedule only
  if (c.diffusion.schedule == "spindle" && (c.diffusion.objective == "d3pm" || c.diffusion.objective == "diffusionbert")) {
    token_counts = count_tokens(*train_split);
    token_weights = spindle_token_weights(token_counts, tokenizer->special().pad);
  }
  BuiltModel built = build_model(c, *tokenizer, token_weights);
  objective = std::move(built.objective);
  model = built.model;
  // Step 0's weights from init.from; a resumed run takes its own checkpoint's.
  if (!c.init.from.empty() && options.resume.empty()) initialise_from(*model, c, *tokenizer);
  model->to(device);
  dp->attach(*model, c.dist.bucket_mb);  // rank 0's initial weights on every rank
  // Dropout draws differ per rank (rank 0 keeps the single-process stream).
  if (dp->rank() > 0) torch::manual_seed(static_cast<std::uint64_t>(c.seed) + 1000003ULL * static_cast<std::uint64_t>(dp->rank()));
  build_optimizer();
  if (c.train.ema > 0) ema = std::make_unique<Ema>(*model, c.train.ema);

  LoaderOptions lo;
  lo.mode = parse_row_mode(c.data.mode);
  lo.length = c.data.length;
  lo.pad_loss = c.data.pad_loss;
  lo.batch_size = c.train.batch_size;
  lo.seed = static_cast<std::uint64_t>(c.seed);
  lo.shuffle = c.data.shuffle;
  loader = std::make_unique<DataLoader>(train_split, lo);
  generator = at::detail::createCPUGenerator(static_cast<std::uint64_t>(c.seed) ^ 0xC0FFEEULL);
}

// AdamW with two parameter groups: matrices decay, vectors (biases, norm
// weights) do not.
void Trainer::Impl::build_optimizer() {
  const OptimConfig& o = config().optim;
  std::vector<at::Tensor> decay, no_decay;
  for (auto& p : model->parameters()) (p.dim() >= 2 ? decay : no_decay).push_back(p);
  auto options = torch::optim::AdamWOptions(config().train.lr).betas({o.beta1, o.beta2}).eps(o.eps);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(
                                 torch::optim::AdamWOptions(options).weight_decay(o.weight_decay)));
  groups.emplace_back(no_decay,
                      std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(options).weight_decay(0)));
  if (o.fused) optimizer = std::make_unique<FusedAdamW>(groups, options);
  else optimizer = std::make_unique<torch::optim::AdamW>(groups, options);
}
Trainer::Trainer(TrainOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->run_dir = impl_->options.out_dir;
  impl_->setup();
}

Trainer::~Trainer() = default;

std::int64_t Trainer::run() {
  Impl& m = *impl_;
  const RunConfig& c = m.config();
  fs::create_directories(m.run_dir);
  if (m.dp->is_main()) m.lock = std::make_unique<RunLock>(m.run_dir);  // a second trainer on this run refuses
  if (m.options.resume.empty()) {
    if (!checkpoint_steps(m.run_dir).empty())
      throw Error(m.run_dir.string() + " already has checkpoints: pass --resume to continue it, or choose another --out");
  } else {
    m.load_checkpoint(find_checkpoint(m.options.resume == "latest" ? m.run_dir : fs::path(m.options.resume)));
    if (m.dp->is_main()) m.truncate_metrics(m.step);
  }
  if (m.dp->is_main()) {
    write_file_atomic(m.run_dir / run_files::kConfig, m.options.resolved.dump(2) + "\n");
    m.metrics.open(m.run_dir / run_files::kMetrics, std::ios::app);
    if (!m.metrics) throw Error("cannot write " + (m.run_dir / run_files::kMetrics).string());
  }

  std::int64_t params = 0;
  for (const auto& p : m.model->parameters()) params += p.numel();
  log::info("training " + c.model.backbone + " (" + std::to_string(params) + " parameters) with " + m.objective->name() +
            " on " + (m.device.is_cuda() ? "cuda" : "cpu") + (m.bf16 ? " (bf16 autocast)" : "") + ", " +
            std::to_string(m.loader->num_rows()) + " training rows; run dir " + m.run_dir.string());
  if (m.dp->active()) {
    // Each rank's device, gathered: (type, index) per rank.
    const auto where = m.dp->gather(torch::tensor({static_cast<std::int64_t>(m.device.type()),
                                                  static_cast<std::int64_t>(m.device.has_index() ? m.device.index() : -1)}));
    std::string devices;
    for (std::size_t r = 0; r < where.size(); ++r) {
      const torch::Device d(static_cast<c10::DeviceType>(where[r][0].item<std::int64_t>()),
                            static_cast<c10::DeviceIndex>(where[r][1].item<std::int64_t>()));
      devices += (r ? ", " : "") + std::string("rank ") + std::to_string(r) + " " + d.str();
    }
    log::info("data parallel: " + m.dp->describe() + "; " + std::to_string(c.train.batch_size / m.dp->world_size()) +
              " rows per rank per step; devices: " + devices);
  }

  g_stop_signal = 0;
  struct sigaction action {}, old_int {}, old_term {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);

  Progress progress("training", static_cast<std::uint64_t>(c.train.max_steps), "steps");
  progress.update(static_cast<std::uint64_t>(m.step));
  const auto start = std::chrono::steady_clock::now();
  auto interval_start = start;
  double interval_tokens = 0;
  const std::int64_t chunks = c.train.grad_accum;
  while (m.step < c.train.max_steps) {
    const double lr = learning_rate(c.train, m.step);
    for (auto& group : m.optimizer->param_groups()) group.options().set_lr(lr);
    // Every rank draws the whole global batch and its corruption, then keeps
    // its rows: the same noised rows whatever the world size.
    const Batch global = to_device(m.loader->next(), m.device);
    const Noised noised = m.dp->shard(m.objective->corrupt(global, m.generator));
    const Batch batch = m.dp->shard(global);
    m.optimizer->zero_grad();
    m.model->train();
    GradResult r;
    m.dp->guarded("training step " + std::to_string(m.step + 1), [&] {
      r = accumulate_gradients(*m.model, *m.objective, batch, noised, chunks, m.bf16, m.dp->sync(),
                               c.train.masked_head);
    });
    bool stop = g_stop_signal != 0;
    if (m.dp->active()) {
      // Sums over ranks (a stop signal on any rank stops all), then the
      // all-reduced mean gradient × world / global denominator = the
      // gradient of the global batch's loss.
      const auto total = m.dp->sum({r.loss_sum, r.denominator, r.nelbo_sum, r.tokens, stop ? 1.0 : 0.0});
      r = {total[0], total[1], total[2], total[3]};
      stop = total[4] > 0;
      scale_gradients(*m.model, static_cast<double>(m.dp->world_size()) / std::max(1.0, r.denominator));
    }
    const double grad_norm =
        torch::nn::utils::clip_grad_norm_(m.model->parameters(),
                                          c.optim.grad_clip > 0 ? c.optim.grad_clip : std::numeric_limits<double>::infinity());
    const double loss = r.loss_sum / std::max(1.0, r.denominator);
    if (std::isfinite(loss) && std::isfinite(grad_norm)) {
      m.optimizer->step();
      if (m.ema) m.ema->update(*m.model);
      m.nonfinite_in_a_row = 0;
    } else {
      ++m.nonfinite_in_a_row;
      const std::string what = "step " + std::to_string(m.step) + ": non-finite " +
                               (std::isfinite(loss) ? "gradient" : "loss") + " (loss " + std::to_string(loss) +
                               ", gradient norm " + std::to_string(grad_norm) + ")";
      if (c.train.nonfinite == "stop" || m.nonfinite_in_a_row >= c.train.max_nonfinite)
        throw Error(what + "; training stopped after " + std::to_string(m.nonfinite_in_a_row) +
                    " non-finite step(s) in a row (train.nonfinite=" + c.train.nonfinite +
                    ", train.max_nonfinite=" + std::to_string(c.train.max_nonfinite) +
                    "); resume from the last checkpoint with a lower train.lr or train.precision=fp32");
      log::warn(what + ": step skipped (" + std::to_string(m.nonfinite_in_a_row) + " in a row)");
    }
    ++m.step;
    interval_tokens += r.tokens;
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = m.elapsed_before + std::chrono::duration<double>(now - start).count();
    if (m.step % c.train.log_every == 0 || m.step == c.train.max_steps) {
      const double dt = std::chrono::duration<double>(now - interval_start).count();
      Json line = {{"step", m.step}, {"split", "train"}, {"loss", loss}, {"lr", lr}, {"grad_norm", grad_norm},
                   {"tokens_per_s", dt > 0 ? interval_tokens / dt : 0.0}, {"elapsed", elapsed}};
      if (m.objective->is_bound()) line["nelbo_per_token"] = r.nelbo_sum / std::max(1.0, r.tokens);
      m.write_metrics(line);
      log::info("step " + std::to_string(m.step) + " loss " + number_text(loss) + " lr " + number_text(lr, 2, true) + " " +
                std::to_string(static_cast<long long>(dt > 0 ? interval_tokens / dt : 0)) + " tok/s");
      interval_start = now;
      interval_tokens = 0;
    }
    if (m.val_split && c.train.val_batches > 0 && (m.step % c.train.eval_every == 0 || m.step == c.train.max_steps)) {
      const double val = m.validate();
      Json line = {{"step", m.step}, {"split", "val"}, {"loss", val}, {"elapsed", elapsed}};
      if (m.objective->is_bound()) {
        line["nelbo_per_token"] = val;
        line["ppl"] = std::exp(val);
      }
      m.write_metrics(line);
      log::info("step " + std::to_string(m.step) + " validation " + (m.objective->is_bound() ? "NELBO/token " : "loss ") +
                number_text(val) + (m.objective->is_bound() ? " (ppl <= " + number_text(std::exp(val), 2) + ")" : ""));
    }
    if (m.dp->is_main() && c.train.sample_every > 0 && (m.step % c.train.sample_every == 0 || m.step == c.train.max_steps))
      m.print_samples();
    if (m.step % c.train.checkpoint_every == 0 || m.step == c.train.max_steps || stop) m.save_checkpoint(elapsed);
    progress.update(static_cast<std::uint64_t>(m.step));
    if (stop) {
      log::info("stopped by a signal (" + std::to_string(g_stop_signal.load()) + " here) at step " + std::to_string(m.step) +
                "; continue with 'unmask train --resume' and the same config");
      break;
    }
  }
  progress.finish();
  m.dp->barrier();  // no rank leaves before rank 0 has written the last checkpoint
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return m.step;
}

}  // namespace unmask

