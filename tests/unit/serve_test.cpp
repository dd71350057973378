// unmask serve's pieces without HTTP: the batcher stacks concurrent calls
// into forwards of at most max_rows rows, never mixes canvas lengths (unless
// padding, where a real backbone's rows match their unpadded forward), hands
// each caller exactly its rows, passes errors and cancellation; the request
// parser refuses what is wrong and names the field.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "torch_test_util.h"
#include "unmask/serve/batcher.h"
#include "unmask/serve/completion_request.h"

namespace unmask::serve {
namespace {

// forward(x, cond) = x · 10 + cond: every row's result depends on that row
// only. A position the key mask marks as padding reads −1.
at::Tensor fake_forward(const at::Tensor& x, const at::Tensor& cond, const at::Tensor& key_mask = {}) {
  const at::Tensor out = x.to(torch::kFloat) * 10 + cond.to(torch::kFloat).unsqueeze(1);
  return key_mask.defined() ? torch::where(key_mask, out, torch::full_like(out, -1)) : out;
}

TEST(Batcher, ConcurrentCallsShareForwardsAndGetTheirOwnRows) {
  std::mutex mu;
  std::vector<std::int64_t> batch_rows;
  NetworkBatcher b([](const at::Tensor& x, const at::Tensor& c, const at::Tensor&) { return fake_forward(x, c); },
                   /*max_rows=*/6, std::chrono::milliseconds(200),
                   [&](std::int64_t rows, std::int64_t, std::int64_t padding) {
                     EXPECT_EQ(padding, 0);
                     std::lock_guard<std::mutex> lock(mu);
                     batch_rows.push_back(rows);
                   });
  constexpr int kThreads = 8;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      NetworkBatcher::Member m(b, nullptr);
      const std::int64_t rows = 1 + t % 2, length = t < 4 ? 5 : 7;  // two canvas lengths
      for (int step = 0; step < 5; ++step) {
        const at::Tensor x = torch::full({rows, length}, t * 100 + step, torch::kLong);
        const at::Tensor cond = torch::full({rows}, step, torch::kFloat);
        const at::Tensor got = m.call(x, cond);
        if (!torch::equal(got, fake_forward(x, cond))) ++wrong;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  std::int64_t total = 0, largest = 0;
  for (const auto r : batch_rows) {
    EXPECT_LE(r, 6);
    total += r;
    largest = std::max(largest, r);
  }
  EXPECT_EQ(total, 5 * (4 * 1 + 4 * 2));  // every row of every call, once
  EXPECT_GT(largest, 2);                   // calls were stacked
  EXPECT_LT(static_cast<std::int64_t>(batch_rows.size()), 5 * kThreads);
}

// With pad_lengths, calls of different lengths share forwards; each caller
// gets its own length back, every one of its positions real (never −1), and
// the padding the forwards computed is reported.
TEST(Batcher, PaddedLengthsStackAndEachCallerGetsItsOwnPositions) {
  std::mutex mu;
  std::int64_t forwards = 0, padding = 0, largest = 0;
  NetworkBatcher b(
      [](const at::Tensor& x, const at::Tensor& cond, const at::Tensor& key_mask) {
        return fake_forward(x, cond, key_mask);
      },
      /*max_rows=*/8, std::chrono::milliseconds(200),
      [&](std::int64_t rows, std::int64_t, std::int64_t pad) {
        std::lock_guard<std::mutex> lock(mu);
        ++forwards;
        padding += pad;
        largest = std::max(largest, rows);
      },
      /*pad_lengths=*/true);
  constexpr int kThreads = 6;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      NetworkBatcher::Member m(b, nullptr);
      const std::int64_t length = 4 + t;  // six canvas lengths
      for (int step = 0; step < 4; ++step) {
        const at::Tensor x = torch::full({1, length}, t * 100 + step, torch::kLong);
        const at::Tensor cond = torch::full({1}, step, torch::kFloat);
        const at::Tensor got = m.call(x, cond);
        if (got.sizes() != x.sizes() || !torch::equal(got, fake_forward(x, cond))) ++wrong;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LT(forwards, 4 * kThreads);  // lengths were mixed in a forward
  EXPECT_GT(largest, 1);
  EXPECT_GT(padding, 0);
}

// A real backbone's padded, key-masked forward gives each row the logits of
// its unpadded forward up to float rounding: bert (attention mask, learned
// positions) and dit (key mask, rotary positions).
TEST(Batcher, PaddedForwardOfARealBackboneMatchesEachRowAlone) {
  for (const std::string backbone : {"bert", "dit"}) {
    torch::manual_seed(0);
    auto model = make_backbone(test::tiny_backbone(backbone));
    {
      torch::NoGradGuard guard;
      for (auto& p : model->parameters()) p.add_(torch::randn_like(p) * 0.05);  // the dit's output starts at zero
    }
    model->eval();
    torch::NoGradGuard no_grad;
    const std::vector<std::int64_t> lengths = {7, 12, 20};
    std::vector<at::Tensor> xs, alone;
    const at::Tensor cond = torch::full({1}, 0.5, torch::kFloat);  // (1)
    for (const auto L : lengths) {
      xs.push_back(torch::randint(5, 50, {1, L}, torch::kLong));  // (1, L)
      alone.push_back(model->forward(xs.back(), cond, at::Tensor()));  // (1, L, V)
    }
    std::vector<at::Tensor> got(lengths.size());
    std::int64_t largest = 0;
    NetworkBatcher b([&](const at::Tensor& x, const at::Tensor& c,
                         const at::Tensor& key_mask) { return model->forward(x, c, key_mask); },
                     8, std::chrono::milliseconds(2000),
                     [&](std::int64_t rows, std::int64_t, std::int64_t padding) {
                       if (rows == 3) EXPECT_EQ(padding, (20 - 7) + (20 - 12)) << backbone;
                       largest = std::max(largest, rows);
                     },
                     /*pad_lengths=*/true);
    {
      std::atomic<int> joined{0};  // every request joins before any calls: one forward for all three
      std::vector<std::thread> threads;
      for (std::size_t i = 0; i < lengths.size(); ++i)
        threads.emplace_back([&, i] {
          NetworkBatcher::Member m(b, nullptr);
          ++joined;
          while (joined.load() < static_cast<int>(lengths.size())) std::this_thread::yield();
          got[i] = m.call(xs[i], cond);
        });
      for (auto& t : threads) t.join();
    }
    for (std::size_t i = 0; i < lengths.size(); ++i) {
      ASSERT_EQ(got[i].sizes(), alone[i].sizes()) << backbone;
      const double err = (got[i] - alone[i]).abs().max().item<double>();
      EXPECT_LT(err, 1e-5) << backbone << ", length " << lengths[i];
    }
    EXPECT_EQ(largest, 3) << backbone << ": the three lengths shared one forward";
  }
}

TEST(Batcher, ForwardErrorsReachEveryCallerOfTheBatch) {
  NetworkBatcher b([](const at::Tensor&, const at::Tensor&, const at::Tensor&) -> at::Tensor {
    throw std::runtime_error("boom");
  }, 8,
                   std::chrono::milliseconds(1));
  NetworkBatcher::Member m(b, nullptr);
  EXPECT_THROW(m.call(torch::zeros({1, 3}, torch::kLong), torch::zeros({1})), std::runtime_error);
}

TEST(Batcher, ACancelledMemberStopsAtItsNextCall) {
  NetworkBatcher b([](const at::Tensor& x, const at::Tensor& c, const at::Tensor&) { return fake_forward(x, c); }, 8,
                   std::chrono::milliseconds(1));
  std::atomic<bool> cancel{false};
  NetworkBatcher::Member m(b, &cancel);
  EXPECT_NO_THROW(m.call(torch::zeros({1, 3}, torch::kLong), torch::zeros({1})));
  cancel = true;
  EXPECT_THROW(m.call(torch::zeros({1, 3}, torch::kLong), torch::zeros({1})), Cancelled);
}

std::string error_of(const std::string& body, int* status = nullptr, std::string* param = nullptr) {
  try {
    parse_completion_request(body);
  } catch (const ApiError& e) {
    if (status) *status = e.status;
    if (param) *param = e.param;
    return e.what();
  }
  return "";
}

TEST(CompletionRequest, ParsesOpenAIAndUnmaskFields) {
  const auto r = parse_completion_request(
      R"({"model": "m", "prompt": ["a", "b"], "max_tokens": 7, "temperature": 0, "top_p": 0.5, "seed": 3, "n": 2,
          "stop": "\n", "stream": true, "stream_options": {"include_usage": true}, "sampler": "confidence",
          "unmask": "threshold", "threshold": 0.8, "steps": 9, "stream_steps": true, "echo": false, "user": "u"})");
  EXPECT_EQ(r.prompts, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.max_tokens, 7);
  EXPECT_EQ(*r.temperature, 0.0);
  EXPECT_EQ(*r.seed, 3u);
  EXPECT_EQ(r.n, 2);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"\n"}));
  EXPECT_TRUE(r.stream && r.include_usage && r.stream_steps);
  EXPECT_EQ(*r.sampler, "confidence");
  EXPECT_EQ(*r.steps, 9);
  EXPECT_EQ(parse_completion_request(R"({"prompt": "x"})").max_tokens, 16);  // OpenAI's default
}

TEST(CompletionRequest, RefusesWhatIsWrongNamingTheField) {
  int status = 0;
  std::string param;
  EXPECT_NE(error_of(R"({"prompt": "x", "colour": 1})", &status, &param).find("unknown field 'colour'"), std::string::npos);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(param, "colour");
  EXPECT_NE(error_of(R"({"prompt": "x", "max_tokens": "5"})", nullptr, &param).find("must be an integer"), std::string::npos);
  EXPECT_EQ(param, "max_tokens");
  EXPECT_NE(error_of(R"({"prompt": "x", "max_tokens": 2.5})").find("integer"), std::string::npos);
  EXPECT_NE(error_of(R"({"prompt": "x", "temperature": -1})").find("temperature"), std::string::npos);
  EXPECT_NE(error_of(R"({"prompt": "x", "top_p": 0})").find("top_p"), std::string::npos);
  EXPECT_NE(error_of(R"({"prompt": "x", "n": 1000})").find("'n' must lie in [1, 64]"), std::string::npos);
  // Found by fuzz_completion_request: a positive-or-zero integer below the range.
  EXPECT_NE(error_of(R"({"prompt": "x", "n": 0})").find("'n' must lie in [1, 64], got 0"), std::string::npos);
  EXPECT_NE(error_of(R"({"prompt": "x", "steps": 0})").find("'steps' must lie in [1, "), std::string::npos);
  EXPECT_NE(error_of(R"({"prompt": "x", "n": 18446744073709551615})").find("must lie in"), std::string::npos);
  EXPECT_NE(error_of(R"({"prompt": ["a", "b", "c"], "n": 30})").find("exceeds this server's limit of 64"), std::string::npos);
  EXPECT_NE(error_of(R"({"prompt": [1, 2]})").find("token-id prompts"), std::string::npos);
  EXPECT_NE(error_of(R"({"max_tokens": 3})").find("'prompt' is required"), std::string::npos);
  EXPECT_NE(error_of(R"({"prompt": "x", "max_tokens": 0})").find("infill"), std::string::npos);
  EXPECT_NE(error_of(R"({"prompt": "x", "stream_steps": true})").find("stream"), std::string::npos);
  EXPECT_NE(error_of(R"({"prompt": "x", "logprobs": 1})").find("not supported"), std::string::npos);
  EXPECT_NE(error_of(R"({"prompt": "x", "stop": ["a", "b", "c", "d", "e"]})").find("at most 4"), std::string::npos);
  EXPECT_NE(error_of("{oops").find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of("[1]").find("must be a JSON object"), std::string::npos);
  EXPECT_NE(error_of(std::string(1000, '[')).find("nests deeper"), std::string::npos);
  EXPECT_EQ(parse_completion_request(R"({"prompt": "x", "max_tokens": 0, "infill": true})").max_tokens, 0);
}

}  // namespace
}  // namespace unmask::serve
