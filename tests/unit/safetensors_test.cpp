// safetensors: round trip of every dtype, and the header checks that catch
// corrupt or truncated files.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>

#include "test_util.h"
#include "unmask/util/error.h"
#include "unmask/util/safetensors.h"

namespace unmask {
namespace {

using namespace unmask::test;

TEST(Safetensors, RoundTripsEveryDtypeAndMetadata) {
  TempDir dir;
  std::vector<std::pair<std::string, at::Tensor>> tensors = {
      {"f32", torch::randn({3, 4})},
      {"f64", torch::randn({2}, torch::kFloat64)},
      {"bf16", torch::randn({5}).to(torch::kBFloat16)},
      {"i64", torch::arange(7)},
      {"bool", torch::tensor({true, false, true})},
      {"u8", torch::arange(4).to(torch::kUInt8)},
      {"empty", torch::zeros({0, 3})},
      {"strided", torch::randn({4, 4}).t()},
  };
  save_safetensors(dir / "a.safetensors", tensors, {{"kind", "test"}});
  const auto f = load_safetensors(dir / "a.safetensors");
  EXPECT_EQ(f.metadata.at("kind"), "test");
  ASSERT_EQ(f.tensors.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    const auto& back = f.tensors.at(name);
    EXPECT_EQ(back.scalar_type(), t.scalar_type()) << name;
    EXPECT_TRUE(torch::equal(back, t)) << name;
  }
  EXPECT_EQ(f.order.front(), "f32");
}

std::string load_error(const fs::path& p) {
  return error_of([&] { load_safetensors(p); });
}

TEST(Safetensors, CorruptFilesAreRejected) {
  TempDir dir;
  save_safetensors(dir / "a.safetensors", {{"x", torch::randn({8})}});
  const std::string good = read_text(dir / "a.safetensors");
  write_text(dir / "short", "abc");
  EXPECT_NE(load_error(dir / "short").find("not a safetensors file"), std::string::npos);
  write_text(dir / "trunc", good.substr(0, good.size() - 4));
  EXPECT_NE(load_error(dir / "trunc").find("byte range does not match"), std::string::npos);
  std::string big = good;
  const std::uint64_t huge = 1ull << 40;
  std::memcpy(big.data(), &huge, 8);
  write_text(dir / "huge", big);
  EXPECT_NE(load_error(dir / "huge").find("header length beyond the end"), std::string::npos);
  std::string json = good;
  json[8] = '[';
  write_text(dir / "json", json);
  EXPECT_FALSE(load_error(dir / "json").empty());
  // Two tensors claiming the same bytes.
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  std::string overlap(8, '\0');
  const std::uint64_t n = header.size();
  std::memcpy(overlap.data(), &n, 8);
  overlap += header + std::string(12, '\0');
  write_text(dir / "overlap", overlap);
  EXPECT_NE(load_error(dir / "overlap").find("overlap"), std::string::npos);
  const std::string bad_dtype = R"({"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}})";
  std::string bd(8, '\0');
  const std::uint64_t m = bad_dtype.size();
  std::memcpy(bd.data(), &m, 8);
  write_text(dir / "dtype", bd + bad_dtype + "x");
  EXPECT_NE(load_error(dir / "dtype").find("unsupported dtype 'F8'"), std::string::npos);
}

// A header of `json` followed by `data_bytes` zero bytes.
std::string with_header(const std::string& json, std::size_t data_bytes) {
  std::string out(8, '\0');
  const std::uint64_t n = json.size();
  std::memcpy(out.data(), &n, 8);
  return out + json + std::string(data_bytes, '\0');
}

// Found by reading the header parser for overflow: a shape whose byte size
// wraps around 2^64 must not pass as the size of its (small) byte range.
TEST(Safetensors, HeadersThatOverflowOrLieAreRejected) {
  TempDir dir;
  auto error_for = [&](const std::string& json, std::size_t data_bytes) {
    write_text(dir / "h.safetensors", with_header(json, data_bytes));
    return load_error(dir / "h.safetensors");
  };
  // 2^62 × 4 × 4 bytes = 2^66 ≡ 0 (mod 2^64): the range [0, 0) must not match.
  EXPECT_NE(error_for(R"({"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}})", 0)
                .find("shape too large"),
            std::string::npos);
  EXPECT_NE(error_for(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4).find("negative"),
            std::string::npos);
  EXPECT_NE(error_for(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4).find("list of integers"),
            std::string::npos);
  EXPECT_NE(error_for(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 4).find("non-negative"),
            std::string::npos);
  EXPECT_NE(error_for(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", 8).find("two non-negative"),
            std::string::npos);
  EXPECT_NE(error_for(R"({"a":[1,2]})", 0).find("is not a JSON object"), std::string::npos);
  EXPECT_NE(error_for(R"({"__metadata__":"x"})", 0).find("__metadata__ is not a JSON object"), std::string::npos);
  EXPECT_NE(error_for(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4).find("byte range"),
            std::string::npos);
  // Zero-sized tensors with any shape are fine, and order follows the data.
  write_text(dir / "ok.safetensors",
             with_header(R"({"b":{"dtype":"I8","shape":[2],"data_offsets":[0,2]},)"
                         R"("a":{"dtype":"F16","shape":[0,4611686018427387904],"data_offsets":[2,2]}})",
                         2));
  const auto f = load_safetensors(dir / "ok.safetensors");
  EXPECT_EQ(f.order, (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(f.tensors.at("a").numel(), 0);
}

}  // namespace
}  // namespace unmask
