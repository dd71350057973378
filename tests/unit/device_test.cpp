// Checks that run on the device named by UNMASK_TEST_DEVICE (cpu by default;
// scripts/gpu_check.sh sets cuda): bf16 autocast against fp32, generator
// states through the checkpoint format, a repeatable training step, and
// repeatable sampling (CUDA graphs on CUDA). ctest label: cuda.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <iostream>
#include <mutex>

#include "test_util.h"
#include "torch_test_util.h"
#include "unmask/diffusion/masking.h"
#include "unmask/diffusion/objective.h"
#include "unmask/sampling/sampler.h"
#include "unmask/train/trainer.h"
#include "unmask/util/autocast.h"
#include "unmask/util/error.h"
#include "unmask/util/safetensors.h"

#if __has_include(<c10/cuda/CUDACachingAllocator.h>)
#include <c10/cuda/CUDACachingAllocator.h>
#define UNMASK_TEST_CUDA_STATS 1
#endif

namespace unmask {
namespace {

class Device : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* env = std::getenv("UNMASK_TEST_DEVICE");
    const std::string name = env && *env ? env : "cpu";
    ASSERT_TRUE(name == "cpu" || name == "cuda") << "UNMASK_TEST_DEVICE must be cpu or cuda (got " << name << ")";
    if (name == "cuda")
      ASSERT_TRUE(torch::cuda::is_available()) << "UNMASK_TEST_DEVICE=cuda but no CUDA device is available";
    device_ = torch::Device(name == "cuda" ? torch::kCUDA : torch::kCPU);
  }
  bool cuda() const { return device_.is_cuda(); }

  // A tiny backbone with every weight perturbed (the DiT's output layer starts
  // at zero, which would make every comparison trivial), on the device.
  Backbone perturbed(const std::string& backbone, double dropout = 0.0) const {
    auto options = test::tiny_backbone(backbone);
    options.model.dropout = dropout;
    auto model = make_backbone(options);
    {
      torch::NoGradGuard guard;
      for (auto& p : model->parameters()) p.add_(torch::randn_like(p) * 0.05);
    }
    model->to(device_);
    return model;
  }

  // The MDLM objective over the tiny backbones' 50-token vocabulary.
  static auto tiny_objective() {
    ObjectiveContext ctx;
    ctx.vocab_size = 50;
    return make_objective(ctx);
  }

  torch::Device device_{torch::kCPU};
};

double relative_error(const at::Tensor& a, const at::Tensor& reference) {
  return ((a.to(torch::kFloat64) - reference.to(torch::kFloat64)).norm() / reference.to(torch::kFloat64).norm())
      .item<double>();
}

TEST_F(Device, Bf16AutocastForwardAgreesWithFp32) {
  for (const std::string backbone : {"bert", "dit"}) {
    torch::manual_seed(0);
    auto model = perturbed(backbone);
    model->eval();
    torch::NoGradGuard no_grad;
    const at::Tensor x = torch::randint(5, 50, {4, 32}).to(device_);           // (B, L)
    const at::Tensor cond = torch::full({4}, 0.5, torch::kFloat).to(device_);  // (B)
    const at::Tensor reference = model->forward(x, cond, at::Tensor());        // (B, L, V) fp32
    at::Tensor low;
    {
      AutocastGuard autocast(device_.type(), true);
      low = model->forward(x, cond, at::Tensor());
    }
    ASSERT_EQ(reference.scalar_type(), torch::kFloat) << backbone;
    ASSERT_TRUE(torch::isfinite(low).all().item<bool>()) << backbone;
    // bf16 keeps 8 significant bits: close to fp32, but not equal to it, which
    // shows that autocast took effect.
    const double err = relative_error(low, reference);
    std::cout << backbone << " on " << device_ << ": bf16 autocast vs fp32 relative error " << err << "\n";
    EXPECT_LT(err, 0.03) << backbone << " on " << device_;
    EXPECT_GT(err, 1e-6) << backbone << ": autocast changed nothing on " << device_;
    // The guard restores fp32.
    const at::Tensor again = model->forward(x, cond, at::Tensor());
    EXPECT_EQ(again.scalar_type(), torch::kFloat);
    EXPECT_LT(relative_error(again, reference), 1e-6) << backbone;
  }
}

TEST_F(Device, GeneratorStateRoundTripGivesIdenticalDraws) {
  torch::manual_seed(3);
  at::Generator gen = cuda() ? at::globalContext().defaultGenerator(device_) : at::detail::getDefaultCPUGenerator();
  (void)torch::rand({1000}, torch::TensorOptions().device(device_));  // move the stream along first
  at::Tensor state;
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    state = gen.get_state();
  }
  // Through the checkpoint format, as rng.safetensors stores it.
  test::TempDir dir;
  save_safetensors(dir / "rng.safetensors", {{"state", state}});
  const at::Tensor loaded = load_safetensors(dir / "rng.safetensors").tensors.at("state");
  ASSERT_TRUE(torch::equal(loaded, state));

  const auto on = torch::TensorOptions().device(device_);
  auto draws = [&] {
    return std::vector<at::Tensor>{torch::rand({257, 3}, on), torch::randint(0, 50000, {1000}, on),
                                   torch::randn({513}, on),
                                   torch::dropout(torch::ones({4096}, on), 0.1, /*train=*/true)};
  };
  const auto first = draws();
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(loaded);
  }
  const auto second = draws();
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].device(), device_);
    EXPECT_TRUE(torch::equal(first[i], second[i])) << "draw " << i << " on " << device_;
  }
  // And the stream did move: a third round differs.
  EXPECT_FALSE(torch::equal(draws()[0], first[0]));
}

// One MDLM step (dropout on, bf16 autocast, AdamW) from the same seed twice.
// The loss must be bitwise equal. Gradients must be bitwise equal on the CPU;
// on CUDA the embedding gradient is summed with atomics (index_add), whose
// order varies, so there they must agree within 1e-4 of each tensor's largest
// entry.
TEST_F(Device, TrainingStepIsRepeatable) {
  struct Step {
    double loss = 0;
    std::vector<at::Tensor> grads, params;
  };
  const auto objective = tiny_objective();
  auto run = [&] {
    torch::manual_seed(7);
    auto model = perturbed("dit", 0.1);
    model->train();
    const Batch batch{torch::randint(5, 50, {8, 32}).to(device_), torch::ones({8, 32}, torch::kBool).to(device_),
                      false};
    auto gen = at::detail::createCPUGenerator(11);  // corruption draws, as the trainer makes them
    const Noised noised = objective->corrupt(batch, gen);
    const GradResult r = accumulate_gradients(*model, *objective, batch, noised, 1, /*autocast_bf16=*/true);
    Step s;
    s.loss = r.loss_sum / r.denominator;
    for (const auto& p : model->parameters()) s.grads.push_back(p.grad().cpu().clone());
    torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(1e-3));
    optimizer.step();
    for (const auto& p : model->parameters()) s.params.push_back(p.detach().cpu().clone());
    return s;
  };
  const Step a = run(), b = run();
  ASSERT_TRUE(std::isfinite(a.loss));
  EXPECT_EQ(a.loss, b.loss) << "on " << device_;
  double grad_norm = 0;
  for (std::size_t i = 0; i < a.grads.size(); ++i) {
    grad_norm += a.grads[i].norm().item<double>();
    if (!cuda()) {
      EXPECT_TRUE(torch::equal(a.grads[i], b.grads[i])) << "gradient " << i;
      EXPECT_TRUE(torch::equal(a.params[i], b.params[i])) << "parameter " << i;
    } else {
      const double scale = std::max(1e-12, a.grads[i].abs().max().item<double>());
      EXPECT_LE((a.grads[i] - b.grads[i]).abs().max().item<double>(), 1e-4 * scale) << "gradient " << i;
    }
  }
  EXPECT_GT(grad_norm, 0.0);
}

TEST_F(Device, SamplingIsRepeatableAndCudaGraphsAgree) {
  torch::manual_seed(0);
  auto model = perturbed("dit");
  model->eval();
  const auto objective = tiny_objective();
  // ancestral, confidence, first_hitting replay whole steps; semi_ar the denoiser call.
  for (const std::string sampler : {"ancestral", "semi_ar", "confidence", "first_hitting"}) {
    SampleRequest r;
    r.sampler = parse_sampler(sampler);
    r.num = 3;
    r.length = 25;
    r.steps = 12;
    r.block_size = 8;
    r.seed = 5;
    r.autocast_bf16 = cuda();  // as `unmask sample` does on CUDA
    const SampleResult a = run_sampler(*model, *objective, SpecialTokens{}, r);
    const SampleResult b = run_sampler(*model, *objective, SpecialTokens{}, r);
    ASSERT_EQ(a.ids.sizes(), (std::vector<std::int64_t>{3, 25}));
    EXPECT_TRUE(torch::equal(a.ids, b.ids)) << sampler << " on " << device_;
    EXPECT_EQ((a.ids == SpecialTokens{}.mask).sum().item<std::int64_t>(), 0) << sampler << ": tokens left masked";
    r.cuda_graph = true;
    if (cuda()) {
      const SampleResult g = run_sampler(*model, *objective, SpecialTokens{}, r);
      EXPECT_TRUE(torch::equal(a.ids, g.ids)) << sampler << ": CUDA-graph replay changed the tokens";
      EXPECT_EQ(a.network_calls, g.network_calls) << sampler << ": replays must count one call per step";
      EXPECT_EQ(a.times, g.times) << sampler;
    } else {
      const std::string err = test::error_of([&] { run_sampler(*model, *objective, SpecialTokens{}, r); });
      EXPECT_NE(err.find("CUDA"), std::string::npos) << "--cuda-graph on the CPU must be refused, got: " << err;
    }
  }
}

// The sampling step's memory at GPT-2's vocabulary: on CUDA the caching
// allocator's peak during steps of confidence with top-p stays within three
// bf16 logits tensors (N, L, V) of the canvas (docs/GPU.md, "Sampling
// memory"). On the CPU, StepMemory.* measures the same bound with a counting
// allocator; here the CPU run checks only that the steps finish.
TEST_F(Device, SamplingStepMemoryStaysWithinThreeLogitsTensors) {
  const std::int64_t n = cuda() ? 16 : 2, length = cuda() ? 1024 : 32, vocab = 50258;
  const SpecialTokens special{0, 1, 2, 3, 49};
  torch::manual_seed(0);
  auto model = perturbed("bert");
  model->eval();
  const auto objective = tiny_objective();
  SampleRequest r;
  r.sampler = SamplerId::confidence;
  r.confidence = "margin";
  r.picker.temperature = 0.8;
  r.picker.top_p = 0.9;
  r.num = n;
  r.length = length;
  r.steps = 2;
  const torch::Device device = device_;
  r.network = [&](const at::Tensor& x, const at::Tensor&) {  // random bf16 logits, as the network's output head
    at::Tensor logits = torch::randn({x.size(0), x.size(1), vocab}, torch::dtype(torch::kBFloat16).device(device));
    return log_probs_without_mask_consuming(std::move(logits), special.mask);
  };
  const double unit = 2.0 * static_cast<double>(n * length * vocab);
#ifdef UNMASK_TEST_CUDA_STATS
  if (cuda()) {
    torch::cuda::synchronize();
    const auto index = device_.index() < 0 ? c10::DeviceIndex(0) : device_.index();
    const auto aggregate = static_cast<std::size_t>(c10::CachingAllocator::StatType::AGGREGATE);
    const std::int64_t before = c10::cuda::CUDACachingAllocator::getDeviceStats(index).allocated_bytes[aggregate].current;
    c10::cuda::CUDACachingAllocator::resetPeakStats(index);
    const SampleResult out = run_sampler(*model, *objective, special, r);
    torch::cuda::synchronize();
    const std::int64_t peak = c10::cuda::CUDACachingAllocator::getDeviceStats(index).allocated_bytes[aggregate].peak;
    const double units = static_cast<double>(peak - before) / unit;
    std::cout << "[step memory] CUDA, N " << n << ", L " << length << ", V " << vocab << ": peak " << units
              << " bf16 logits tensors (" << (peak - before) / (1 << 20) << " MiB)" << std::endl;
    EXPECT_LE(units, 3.1);
    EXPECT_EQ((out.ids == special.mask).sum().item<std::int64_t>(), 0);
    return;
  }
#endif
  const SampleResult out = run_sampler(*model, *objective, special, r);
  EXPECT_EQ((out.ids == special.mask).sum().item<std::int64_t>(), 0);
  std::cout << "[step memory] " << device_ << ": the steps finish; the CPU bound is measured by StepMemory.*" << std::endl;
}

}  // namespace
}  // namespace unmask
