// The batched, device-side sampling step: the counter-based streams against
// their host definition; sample i is the same for N = 1, 7 and 64 under every
// sampler; gathered and dense draws give the same tokens; a step dispatches
// the same ATen operations for N = 1 and N = 64 (counted with LibTorch's
// RecordFunction hooks), and a dense step reads nothing back to the host.
#include <ATen/record_function.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "torch_test_util.h"
#include "unmask/diffusion/objective.h"
#include "unmask/sampling/counter_rng.h"
#include "unmask/sampling/sampler.h"

namespace unmask {
namespace {

TEST(CounterRng, TensorBitsEqualTheHostDefinition) {
  const std::vector<std::uint64_t> keys = {0, 1, 0x8000000000000000ULL, ~0ULL, 0x0123456789ABCDEFULL};
  const CounterRng rng(keys, torch::kCPU);
  double sum = 0;
  for (const std::uint64_t salt : std::vector<std::uint64_t>{draw_site(0, 0, 0), draw_site(3, 17, 1), ~0ULL}) {
    const at::Tensor u = rng.uniform(salt, 4096);  // (5, 4096)
    const auto a = u.accessor<double, 2>();
    for (std::size_t i = 0; i < keys.size(); ++i)
      for (std::int64_t j = 0; j < 4096; ++j) {
        ASSERT_EQ(a[static_cast<std::int64_t>(i)][j], counter_uniform(keys[i], salt, static_cast<std::uint64_t>(j)))
            << "key " << i << " index " << j;
        ASSERT_GE(a[static_cast<std::int64_t>(i)][j], 0.0);
        ASSERT_LT(a[static_cast<std::int64_t>(i)][j], 1.0);
      }
    sum += u.sum().item<double>();
    // A sample's numbers do not depend on the other keys.
    EXPECT_TRUE(torch::equal(CounterRng({keys[3]}, torch::kCPU).uniform(salt, 4096)[0], u[3]));
  }
  const double n = 3.0 * 5 * 4096;
  EXPECT_NEAR(sum / n, 0.5, 5 * std::sqrt(1.0 / 12 / n));
}

struct Models {
  Backbone bidirectional, causal;
  std::unique_ptr<Objective> mdlm, cosine, ar;
  Models() {
    torch::manual_seed(0);
    bidirectional = make_backbone(test::tiny_backbone("bert"));
    bidirectional->eval();
    causal = make_backbone(test::tiny_backbone("bert", "none", true));
    causal->eval();
    ObjectiveContext ctx;
    ctx.vocab_size = 50;
    mdlm = make_objective(ctx);
    ctx.diffusion.schedule = "cosine";
    cosine = make_objective(ctx);
    ctx.diffusion.objective = "ar";
    ar = make_objective(ctx);
  }
};

struct Case {
  std::string name;
  SampleRequest request;
  bool causal = false;
};

std::vector<Case> cases() {
  SampleRequest base;
  base.length = 24;
  base.steps = 10;
  base.seed = 11;
  std::vector<Case> out;
  auto add = [&](const std::string& name, auto edit, bool causal = false) {
    SampleRequest r = base;
    edit(r);
    out.push_back({name, r, causal});
  };
  add("ancestral", [](SampleRequest&) {});
  add("ancestral top-p 0.9", [](SampleRequest& r) { r.picker.top_p = 0.9; });
  add("cached", [](SampleRequest& r) { r.sampler = SamplerId::cached; });
  add("reverse filter T 0.7 top-k 5", [](SampleRequest& r) {
    r.filter = "reverse";
    r.picker.temperature = 0.7;
    r.picker.top_k = 5;
  });
  add("reverse filter gumbel32", [](SampleRequest& r) {
    r.filter = "reverse";
    r.picker.draw = Draw::gumbel32;
  });
  add("first_hitting", [](SampleRequest& r) { r.sampler = SamplerId::first_hitting; });
  add("confidence maxprob", [](SampleRequest& r) { r.sampler = SamplerId::confidence; });
  add("confidence margin remask cosine", [](SampleRequest& r) {
    r.sampler = SamplerId::confidence;
    r.confidence = "margin";
    r.remask = true;
    r.k_schedule = "cosine";
  });
  add("confidence entropy gumbel64", [](SampleRequest& r) {
    r.sampler = SamplerId::confidence;
    r.confidence = "entropy";
    r.picker.draw = Draw::gumbel64;
  });
  add("confidence threshold 0.3", [](SampleRequest& r) {
    r.sampler = SamplerId::confidence;
    r.unmask = "threshold";
    r.threshold = 0.3;
  });
  add("confidence factor 2 greedy", [](SampleRequest& r) {
    r.sampler = SamplerId::confidence;
    r.unmask = "factor";
    r.factor = 2.0;
    r.picker.greedy = true;
  });
  add("remdm cap 0.05", [](SampleRequest& r) {
    r.sampler = SamplerId::remdm;
    r.eta = 0.05;
  });
  add("remdm conf", [](SampleRequest& r) {
    r.sampler = SamplerId::remdm;
    r.remdm = "conf";
    r.steps = 30;
  });
  add("remdm loop", [](SampleRequest& r) {
    r.sampler = SamplerId::remdm;
    r.remdm = "loop";
    r.steps = 20;
  });
  add("semi_ar ancestral", [](SampleRequest& r) {
    r.sampler = SamplerId::semi_ar;
    r.block_size = 6;
  });
  add("semi_ar confidence mdlm window", [](SampleRequest& r) {
    r.sampler = SamplerId::semi_ar;
    r.inner = SamplerId::confidence;
    r.semi_ar_style = "mdlm";
    r.context = 12;
    r.block_size = 4;
  });
  add("ar", [](SampleRequest&) {}, true);
  add("ar top-k 7", [](SampleRequest& r) { r.picker.top_k = 7; }, true);
  return out;
}

SampleResult run(const Models& m, const Case& c, SampleRequest r) {
  return c.causal ? run_sampler(*m.causal, *m.ar, SpecialTokens{}, r)
                  : run_sampler(*m.bidirectional, c.name == "ancestral top-p 0.9" ? *m.cosine : *m.mdlm, SpecialTokens{}, r);
}

// ★ Sample i is the same whatever the batch: rows of N = 7 and N = 64 against
// N = 1 runs started at their index; and gathered draws (the CPU path) give the
// same tokens as dense ones (the CUDA path).
TEST(SamplingBatch, SampleIIsTheSameForAnyBatchAndEitherDrawPath) {
  const Models m;
  for (const Case& c : cases()) {
    SampleRequest r = c.request;
    r.num = 64;
    const SampleResult big = run(m, c, r);
    r.num = 7;
    const SampleResult seven = run(m, c, r);
    EXPECT_TRUE(torch::equal(seven.ids, big.ids.narrow(0, 0, 7))) << c.name;
    for (const std::int64_t i : {0, 3, 6, 41, 63}) {
      SampleRequest one = c.request;
      one.num = 1;
      one.first_index = i;
      const SampleResult single = run(m, c, one);
      EXPECT_TRUE(torch::equal(single.ids[0], big.ids[i])) << c.name << ": sample " << i;
    }
    r.dense_draws = true;
    EXPECT_TRUE(torch::equal(run(m, c, r).ids, seven.ids)) << c.name << ": dense draws changed the tokens";
    r.dense_draws = false;
    r.check_every = 5;  // fewer read-backs: the same tokens
    EXPECT_TRUE(torch::equal(run(m, c, r).ids, seven.ids)) << c.name << ": the check interval changed the tokens";
    EXPECT_FALSE((big.ids == SpecialTokens{}.mask).any().item<bool>()) << c.name;
  }
}

// The ATen operations the calling thread dispatches between two steps, at the
// top level: what an operation runs inside (ATen's choices by shape, e.g. an
// empty reduction skips its kernels) is not ours to count. The network call
// (user scope "unmask::network") counts as one operation: inside it, the
// model's own layout choices may differ with N (a reshape that is a view for
// one row and a copy for many).
// `nested`: every operation at any depth instead, the network's inside included.
class OpRecorder {
 public:
  explicit OpRecorder(bool nested = false) {
    nested_ = nested;
    handle_ = at::addThreadLocalCallback(
        at::RecordFunctionCallback(
            [](const at::RecordFunction& fn) -> std::unique_ptr<at::ObserverContext> {
              if (current_ && (depth_ == 0 || nested_)) current_->back().push_back(fn.name());
              ++depth_;
              return nullptr;
            },
            [](const at::RecordFunction&, at::ObserverContext*) { --depth_; })
            .scopes({at::RecordScope::FUNCTION, at::RecordScope::USER_SCOPE}));
  }
  ~OpRecorder() {
    at::removeCallback(handle_);
    current_ = nullptr;
  }
  // Records `body`, cutting a new segment at every on_step call.
  std::vector<std::vector<std::string>> record(SampleRequest& r, const std::function<void()>& body) {
    std::vector<std::vector<std::string>> segments(1);
    current_ = &segments;
    depth_ = 0;
    r.on_step = [&segments](const at::Tensor&) { segments.emplace_back(); };
    body();
    current_ = nullptr;
    return segments;
  }

 private:
  at::CallbackHandle handle_;
  static thread_local std::vector<std::vector<std::string>>* current_;
  static thread_local int depth_;
  static thread_local bool nested_;
};
thread_local std::vector<std::vector<std::string>>* OpRecorder::current_ = nullptr;
thread_local int OpRecorder::depth_ = 0;
thread_local bool OpRecorder::nested_ = false;

const std::set<std::string>& read_backs() {
  static const std::set<std::string> ops = {"aten::_local_scalar_dense", "aten::item", "aten::nonzero", "aten::equal",
                                            "aten::is_nonzero"};
  return ops;
}

std::map<std::string, int> histogram(const std::vector<std::string>& ops) {
  std::map<std::string, int> out;
  for (const auto& op : ops) ++out[op];
  return out;
}

// "op: a vs b" for every operation the two histograms count differently.
std::string difference(const std::map<std::string, int>& a, const std::map<std::string, int>& b) {
  std::string out;
  std::set<std::string> names;
  for (const auto& [op, n] : a) names.insert(op);
  for (const auto& [op, n] : b) names.insert(op);
  for (const auto& op : names) {
    const int x = a.count(op) ? a.at(op) : 0, y = b.count(op) ? b.at(op) : 0;
    if (x != y) out += op + ": " + std::to_string(x) + " vs " + std::to_string(y) + "; ";
  }
  return out;
}

// A step is the same ATen operations, in number and kind, for N = 1 and
// N = 64, on both draw paths; a dense step with no termination check due
// reads nothing back (no item, nonzero or equal): what a CUDA step needs to
// queue without waiting and what a CUDA graph can capture.
TEST(SamplingBatch, AStepDispatchesTheSameOperationsForAnyBatch) {
  const Models m;
  for (const Case& c : cases()) {
    if (c.name == "cached") continue;  // skips calls by a host decision, by design
    for (const bool dense : {false, true}) {
      std::vector<std::vector<std::vector<std::string>>> per_n;
      for (const std::int64_t n : {1, 64}) {
        SampleRequest r = c.request;
        r.num = n;
        r.dense_draws = dense;
        r.check_every = 1000;
        OpRecorder recorder;
        per_n.push_back(recorder.record(r, [&] { run(m, c, r); }));
      }
      const std::size_t steps = std::min(per_n[0].size(), per_n[1].size());
      ASSERT_GE(steps, 4u) << c.name;
      // Segment 0 is the set-up, the last one the final denoise: compare the steps between.
      for (std::size_t k = 1; k + 1 < steps; ++k) {
        EXPECT_EQ(difference(histogram(per_n[0][k]), histogram(per_n[1][k])), "")
            << c.name << " dense " << dense << " step " << k;
        EXPECT_GT(per_n[1][k].size(), 10u) << c.name;
        EXPECT_LE(histogram(per_n[1][k])["unmask::network"], 1) << c.name;
        if (!dense && c.name == "ancestral")  // the recorder sees read-backs: gathered rows use one
          EXPECT_EQ(histogram(per_n[1][k])["aten::nonzero"], 1) << "step " << k;
        if (!dense || c.name.rfind("semi_ar", 0) == 0) continue;  // gathered rows and block changes read back
        for (const auto& op : per_n[1][k])
          EXPECT_EQ(read_backs().count(op), 0u) << c.name << " step " << k << " reads back with " << op;
      }
    }
  }
}

// What --cuda-graph replays whole (ancestral, first_hitting, confidence, remdm): a
// dense step reads nothing back at any depth, the network's inside included
// (graph capture fails on a read-back), and the step's network call is the
// one Denoiser::log_probs makes (a replay's count is added by StepRunner).
TEST(SamplingBatch, AWholeStepReadsNothingBackAtAnyDepth) {
  const Models m;
  int checked = 0;
  for (const Case& c : cases()) {
    if (c.causal || c.name == "cached" || c.name.rfind("semi_ar", 0) == 0) continue;
    SampleRequest r = c.request;
    r.num = 3;
    r.dense_draws = true;
    r.check_every = 1000;
    OpRecorder recorder(/*nested=*/true);
    const auto segments = recorder.record(r, [&] { run(m, c, r); });
    ASSERT_GE(segments.size(), 4u) << c.name;
    for (std::size_t k = 1; k + 1 < segments.size(); ++k) {
      const auto ops = histogram(segments[k]);
      EXPECT_EQ(ops.count("unmask::network") ? ops.at("unmask::network") : 0, 1) << c.name << " step " << k;
      EXPECT_GT(ops.count("aten::linear") + ops.count("aten::addmm") + ops.count("aten::matmul"), 0u)
          << c.name << ": the recorder must see inside the network";
      for (const auto& [op, count] : ops)
        EXPECT_EQ(read_backs().count(op), 0u) << c.name << " step " << k << " reads back with " << op;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 13);
}

}  // namespace
}  // namespace unmask
