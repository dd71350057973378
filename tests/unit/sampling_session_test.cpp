// SamplingSession: one model loaded, many requests. Its requests come from
// the run's config plus overrides (the same function the trainer and the
// benchmarks use), its results equal `unmask sample`'s JSONL line for line,
// and requests served one after another by one session give what fresh
// processes give.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.h"
#include "unmask/app/sampling_session.h"
#include "unmask/sampling/request.h"
#include "unmask/util/error.h"

namespace unmask {
namespace {

using namespace unmask::test;

const fs::path& trained_run() {
  static TempDir dir;
  static const fs::path run = [] {
    const fs::path config = dir / "mdlm.json";
    write_text(config, R"({"seed": 3, "model": {"backbone": "dit", "hidden": 32, "layers": 1, "heads": 2, "cond_dim": 16,
      "dropout": 0.0, "max_length": 32, "time_conditioning": "none"}, "diffusion": {"objective": "mdlm"},
      "data": {"path": ")" + fortune_data().string() + R"(", "mode": "pad", "length": 24},
      "train": {"batch_size": 8, "max_steps": 10, "lr": 0.003, "warmup_steps": 2, "ema": 0.9, "log_every": 10,
                "eval_every": 10, "val_batches": 1, "checkpoint_every": 10, "sample_every": 0, "device": "cpu"},
      "sample": {"num": 3, "length": 24, "steps": 12, "sampler": "confidence"}})");
    const auto r = run_unmask({"train", "--config", config.string(), "--out", (dir / "run").string()});
    if (r.code != 0) throw std::runtime_error("training the test model failed: " + r.err);
    return dir / "run";
  }();
  return run;
}

TEST(SamplingSession, RequestsComeFromTheConfigWithOverrides) {
  SamplingSession session(trained_run(), "cpu", true);
  const SampleRequest d = session.request({});
  EXPECT_EQ(d.sampler, SamplerId::confidence);  // sample.sampler
  EXPECT_EQ(d.num, 3);
  EXPECT_EQ(d.steps, 12);
  EXPECT_EQ(d.context, 32);   // model.max_length
  EXPECT_TRUE(d.stop_at_eos);  // pad data
  EXPECT_EQ(d.seed, 3u);       // the run's seed
  SampleOverrides o;
  o.sampler = "semi_ar";
  o.inner = "confidence";
  o.num = 5;
  o.seed = 7;
  o.prompts = {"The [MASK:2] is"};
  const SampleRequest r = session.request(o);
  EXPECT_EQ(r.sampler, SamplerId::semi_ar);
  EXPECT_EQ(r.inner, SamplerId::confidence);
  EXPECT_EQ(r.num, 5);
  EXPECT_EQ(r.seed, 7u);
  ASSERT_EQ(r.prompts.size(), 1u);
  EXPECT_EQ(std::count(r.prompts[0].begin(), r.prompts[0].end(), session.tokenizer().special().mask), 2);
  o.inner = "first_hitting";  // cannot denoise a span
  EXPECT_NE(error_of([&] { session.request(o); }).find("unknown inner sampler 'first_hitting' for semi_ar (valid: "
                                                       "ancestral, confidence)"),
            std::string::npos);
  o.inner.reset();
  o.sampler = "beam";
  EXPECT_NE(error_of([&] { session.request(o); }).find("unknown sampler 'beam'"), std::string::npos);
}

TEST(SamplingSession, ManyRequestsOnOneModelEqualTheCommandsOutput) {
  SamplingSession session(trained_run(), "cpu", true);
  for (const char* sampler : {"ancestral", "confidence", "first_hitting"}) {
    for (std::int64_t seed : {4, 5}) {
      SampleOverrides o;
      o.sampler = sampler;
      o.seed = static_cast<std::uint64_t>(seed);
      const SampleRequest r = session.request(o);
      const SampleOutput mine = session.rows(r, session.sample(r), 0.0);
      TempDir dir;
      const auto cmd = run_unmask({"sample", "--checkpoint", trained_run().string(), "--sampler", sampler, "--seed",
                                   std::to_string(seed), "--out", (dir / "s.jsonl").string()});
      ASSERT_EQ(cmd.code, 0) << cmd.err;
      std::istringstream in(read_text(dir / "s.jsonl"));
      std::size_t i = 0;
      for (std::string line; std::getline(in, line); ++i) {
        const auto j = nlohmann::json::parse(line);
        ASSERT_LT(i, mine.rows.size());
        EXPECT_EQ(j["text"].get<std::string>(), mine.rows[i].text) << sampler << " seed " << seed << " row " << i;
        EXPECT_EQ(j["ids"].get<std::vector<std::int64_t>>(), mine.rows[i].ids) << sampler;
        EXPECT_EQ(j["reveal_step"].get<std::vector<std::int64_t>>(), mine.rows[i].reveal_step) << sampler;
        EXPECT_EQ(j["nfe"].get<std::int64_t>(), mine.network_calls) << sampler;
      }
      EXPECT_EQ(i, mine.rows.size());
    }
  }
}

}  // namespace
}  // namespace unmask
