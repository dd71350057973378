// unmask serve's pieces without HTTP: the batcher stacks concurrent calls
// into forwards of at most max_rows rows, never mixes canvas lengths, hands
// each caller exactly its rows, passes errors and cancellation; the request
// parser refuses what is wrong and names the field.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "unmask/serve/batcher.h"
#include "unmask/serve/completion_request.h"

namespace unmask::serve {
namespace {

// forward(x, cond) = x · 10 + cond: every row's result depends on that row only.
at::Tensor fake_forward(const at::Tensor& x, const at::Tensor& cond) {
  return x.to(torch::kFloat) * 10 + cond.to(torch::kFloat).unsqueeze(1);
}

TEST(Batcher, ConcurrentCallsShareForwardsAndGetTheirOwnRows) {
  std::mutex mu;
  std::vector<std::int64_t> batch_rows;
  NetworkBatcher b(fake_forward, /*max_rows=*/6, std::chrono::milliseconds(200),
                   [&](std::int64_t rows, std::int64_t) {
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

TEST(Batcher, ForwardErrorsReachEveryCallerOfTheBatch) {
  NetworkBatcher b([](const at::Tensor&, const at::Tensor&) -> at::Tensor { throw std::runtime_error("boom"); }, 8,
                   std::chrono::milliseconds(1));
  NetworkBatcher::Member m(b, nullptr);
  EXPECT_THROW(m.call(torch::zeros({1, 3}, torch::kLong), torch::zeros({1})), std::runtime_error);
}

TEST(Batcher, ACancelledMemberStopsAtItsNextCall) {
  NetworkBatcher b(fake_forward, 8, std::chrono::milliseconds(1));
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
