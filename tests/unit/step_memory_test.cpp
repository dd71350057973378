// The sampling step's peak memory, measured on the CPU by a counting
// allocator installed in front of LibTorch's: with the network's bf16 logits
// (N, L, V) as the unit, a step of every drawing sampler (temperature, top-k,
// top-p, DiffusionBERT's reverse filter, confidence scores, ReMDM) holds at
// most three units: the logits becoming float32 log-probabilities, then the
// log-probabilities plus the chunked draws (docs/GPU.md). The chunks never
// change a token: a budget of one row at a time gives the same ids.
#include <c10/core/Allocator.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <vector>

#include "torch_test_util.h"
#include "unmask/diffusion/masking.h"
#include "unmask/sampling/sampler.h"

namespace unmask {
namespace {

// Counts the bytes alive through it and their peak since reset().
class CountingAllocator final : public c10::Allocator {
 public:
  explicit CountingAllocator(c10::Allocator* base) : base_(base) {}
  c10::DataPtr allocate(size_t n) override {
    auto* ctx = new Ctx{base_->allocate(n), n, this};
    const std::int64_t now = current_ += static_cast<std::int64_t>(n);
    std::int64_t p = peak_.load();
    while (now > p && !peak_.compare_exchange_weak(p, now)) {
    }
    void* data = ctx->inner.get();
    return {data, ctx, &release, ctx->inner.device()};
  }
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
  // Starts a measurement; returns the bytes alive now.
  std::int64_t reset() {
    peak_ = current_.load();
    return current_;
  }
  std::int64_t peak() const { return peak_; }

  static CountingAllocator& installed() {
    static CountingAllocator* a = [] {
      auto* c = new CountingAllocator(c10::GetAllocator(c10::DeviceType::CPU));
      c10::SetAllocator(c10::DeviceType::CPU, c, /*priority=*/100);
      return c;
    }();
    return *a;
  }

 private:
  struct Ctx {
    c10::DataPtr inner;
    size_t n;
    CountingAllocator* owner;
  };
  static void release(void* p) {
    auto* ctx = static_cast<Ctx*>(p);
    ctx->owner->current_ -= static_cast<std::int64_t>(ctx->n);
    delete ctx;
  }
  c10::Allocator* base_;
  std::atomic<std::int64_t> current_{0}, peak_{0};
};

constexpr std::int64_t kN = 4, kL = 64, kV = 32768;
constexpr std::int64_t kUnit = kN * kL * kV * 2;  // the bf16 logits of a step: 16 MiB
const SpecialTokens kSpecial{0, 1, 2, 3, 49};

struct Case {
  std::string name;
  std::function<void(SampleRequest&)> set;
};

std::vector<Case> cases() {
  return {
      {"ancestral", [](SampleRequest&) {}},
      {"ancestral T 0.8 top-k 100 top-p 0.9",
       [](SampleRequest& r) {
         r.picker.temperature = 0.8;
         r.picker.top_k = 100;
         r.picker.top_p = 0.9;
       }},
      {"ancestral reverse filter T 0.8",
       [](SampleRequest& r) {
         r.filter = "reverse";
         r.picker.temperature = 0.8;
       }},
      {"confidence margin T 0.8 top-p 0.9",
       [](SampleRequest& r) {
         r.sampler = SamplerId::confidence;
         r.confidence = "margin";
         r.picker.temperature = 0.8;
         r.picker.top_p = 0.9;
       }},
      {"confidence threshold", [](SampleRequest& r) {
         r.sampler = SamplerId::confidence;
         r.unmask = "threshold";
         r.threshold = 1e-6;  // random logits: every position at once
       }},
      {"remdm conf T 0.8",
       [](SampleRequest& r) {
         r.sampler = SamplerId::remdm;
         r.remdm = "conf";
         r.picker.temperature = 0.8;
       }},
      {"ancestral dense draws T 0.8 top-p 0.9", [](SampleRequest& r) {
         r.dense_draws = true;  // the CUDA path: every position's row
         r.picker.temperature = 0.8;
         r.picker.top_p = 0.9;
       }},
  };
}

// A network of random bf16 logits (N, L, V) turned into log-probabilities as
// the sampler's own network does; or, with `lp` defined, a copy of those
// float32 log-probabilities (the draws' share of the step alone).
SampleRequest request(const Case& c, std::int64_t budget, const at::Tensor& lp = {}) {
  SampleRequest r;
  r.num = kN;
  r.length = kL;
  r.steps = 4;
  r.seed = 5;
  r.draw_budget = budget;
  c.set(r);
  if (lp.defined()) {
    r.network = [lp](const at::Tensor&, const at::Tensor&) { return lp.clone(); };
    return r;
  }
  r.network = [](const at::Tensor& x, const at::Tensor&) {
    at::Tensor logits = torch::randn({x.size(0), x.size(1), kV}, torch::dtype(torch::kBFloat16));
    return log_probs_without_mask_consuming(std::move(logits), kSpecial.mask);
  };
  return r;
}

TEST(StepMemory, AStepHoldsAtMostThreeBf16LogitsTensors) {
  test::TinyMdlm m;
  CountingAllocator& counter = CountingAllocator::installed();
  torch::manual_seed(4);
  const at::Tensor lp = log_probs_without_mask(torch::randn({kN, kL, kV}), kSpecial.mask);  // (N, L, V) float32
  auto peak_units = [&](const SampleRequest& r, SampleResult* out = nullptr) {
    torch::manual_seed(3);
    const std::int64_t before = counter.reset();
    SampleResult res = run_sampler(*m.model, *m.objective, kSpecial, r);
    if (out) *out = std::move(res);
    return static_cast<double>(counter.peak() - before) / kUnit;
  };
  for (const Case& c : cases()) {
    SampleResult out;
    const double whole = peak_units(request(c, 0), &out);           // logits → log-probabilities → draws
    const double draws = peak_units(request(c, 0, lp)) - 2;         // beyond the float32 log-probabilities
    const double unchunked = peak_units(request(c, std::int64_t{1} << 40, lp)) - 2;
    std::printf("[step memory] %-40s step peak %.2f; draws %.2f (%.2f in one chunk) bf16 logits tensors\n",
                c.name.c_str(), whole, draws, unchunked);
    EXPECT_LE(whole, 3.05) << c.name;  // three units, and the step's (N, L) tensors
    EXPECT_LE(draws, 1.05) << c.name;
    EXPECT_GE(out.network_calls, 1) << c.name;
  }
}

TEST(StepMemory, ChunksNeverChangeATokenAndTheConversionIsExact) {
  test::TinyMdlm m;
  for (const Case& c : cases()) {
    torch::manual_seed(3);
    const SampleResult whole = run_sampler(*m.model, *m.objective, kSpecial, request(c, std::int64_t{1} << 40));
    torch::manual_seed(3);
    const SampleResult one_row = run_sampler(*m.model, *m.objective, kSpecial, request(c, 1));
    EXPECT_TRUE(torch::equal(whole.ids, one_row.ids)) << c.name;
  }
  // The consuming conversion: bitwise the values of log_probs_without_mask, for bf16 and float32 logits.
  for (const auto dtype : {torch::kBFloat16, torch::kFloat32}) {
    const at::Tensor logits = torch::randn({3, 7, 300}).to(dtype);
    const at::Tensor expected = log_probs_without_mask(logits, 5);
    EXPECT_TRUE(torch::equal(log_probs_without_mask_consuming(logits.clone(), 5), expected));
  }
  // And its peak: the bf16 logits plus one float32 copy.
  CountingAllocator& counter = CountingAllocator::installed();
  at::Tensor logits = torch::randn({kN, kL, kV}, torch::dtype(torch::kBFloat16));
  const std::int64_t before = counter.reset();
  at::Tensor lp = log_probs_without_mask_consuming(std::move(logits), 5);
  EXPECT_LE(static_cast<double>(counter.peak() - before), 2.0 * kUnit + kUnit / 8 + (1 << 20));
  EXPECT_EQ(lp.scalar_type(), torch::kFloat32);
}

}  // namespace
}  // namespace unmask
