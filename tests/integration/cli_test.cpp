// The `unmask` binary end to end: tokenizer train + data prepare + inspect,
// help and version, and the one-line errors with non-zero exits.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace unmask {
namespace {

using namespace unmask::test;

std::size_t count_lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

// A failure prints exactly one line starting "unmask: error:" containing `what`.
void expect_one_line_error(const RunResult& r, const std::string& what) {
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_EQ(r.err.rfind("unmask: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
}

std::vector<std::string> fortune_args() {
  std::vector<std::string> args;
  for (const auto& f : fortune_files()) args.push_back(f.string());
  return args;
}

TEST(Cli, VersionNamesLibTorch) {
  const auto r = run_unmask({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("unmask 0.1.0 (LibTorch 2."), std::string::npos) << r.out;
}

std::string shell_quote(const std::string& a) {
  std::string q = "'";
  for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// unmask with UNMASK_TORCH_MODULE pointing at a file that does not exist.
RunResult run_without_torch_module(const std::vector<std::string>& args) {
  std::string cmd = "UNMASK_TORCH_MODULE=/nonexistent/libunmask_torch_cmds.so " + shell_quote(UNMASK_BINARY);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  return run_command(cmd + " </dev/null");
}

// The binary itself does not link LibTorch; only train, sample and eval
// ppl/gen-ppl/all open the module, so every other command works without it,
// and the ones that need it say what is missing in one line.
TEST(Cli, OnlyTheTensorCommandsLoadLibTorch) {
  const auto needed = run_command("readelf -d " + shell_quote(UNMASK_BINARY));
  ASSERT_EQ(needed.code, 0) << needed.err;
  EXPECT_NE(needed.out.find("(NEEDED)"), std::string::npos) << needed.out;
  EXPECT_EQ(needed.out.find("libtorch"), std::string::npos) << needed.out;
  EXPECT_EQ(needed.out.find("libc10"), std::string::npos) << needed.out;
  TempDir dir;
  write_text(dir / "hyps.txt", "the cat sat on the mat\na dog ran\n");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--help"},
           {"--version"},
           {"train", "--help"},
           {"tokenizer", "encode", "--tokenizer", fortune_tokenizer().string(), "--text", "hello world"},
           {"data", "inspect", "--data", fortune_data().string()},
           {"eval", "bleu", "--hyps", (dir / "hyps.txt").string(), "--refs", (dir / "hyps.txt").string()}}) {
    const auto r = run_without_torch_module(args);
    EXPECT_EQ(r.code, 0) << args.front() << ": " << r.err;
  }
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"sample", "--checkpoint", (dir / "none").string()},
           {"train", "--config", (dir / "none.json").string()},
           {"eval", "ppl", "--checkpoint", (dir / "none").string()}}) {
    const auto r = run_without_torch_module(args);
    expect_one_line_error(r, "cannot load the LibTorch part of unmask, /nonexistent/libunmask_torch_cmds.so: ");
    EXPECT_NE(r.err.find("UNMASK_TORCH_MODULE"), std::string::npos) << r.err;
  }
  // A library that is not the module is refused by name.
  const auto r = run_command("UNMASK_TORCH_MODULE=libm.so.6 " + shell_quote(UNMASK_BINARY) + " sample --checkpoint x");
  expect_one_line_error(r, "libm.so.6 is not unmask's LibTorch module (no unmask_torch_commands)");
}

TEST(Cli, HelpWorksOnEveryLevel) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--help"}, {"tokenizer", "--help"}, {"tokenizer", "train", "--help"}, {"data", "prepare", "--help"},
           {"data", "inspect", "--help"}, {"train", "--help"}, {"sample", "--help"}, {"eval", "--help"},
           {"eval", "bleu", "--help"}, {"config", "dump", "--help"}}) {
    const auto r = run_unmask(args);
    EXPECT_EQ(r.code, 0) << args.front();
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << r.out;
  }
}

TEST(Cli, TokenizerTrainThenDataPrepareThenInspect) {
  TempDir dir;
  std::vector<std::string> train = {"tokenizer", "train", "--format", "docs", "--doc-separator", "percent",
                                    "--vocab-size", "1500", "--model-type", "bpe", "--out", (dir / "tok").string(),
                                    "--input"};
  for (const auto& f : fortune_args()) train.push_back(f);
  auto r = run_unmask(train);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir / "tok" / "tokenizer.model"));

  std::vector<std::string> prepare = {"data", "prepare", "--format", "docs", "--doc-separator", "percent",
                                      "--tokenizer", (dir / "tok").string(), "--out", (dir / "data").string(),
                                      "--val-fraction", "0.02", "--json", "--input"};
  for (const auto& f : fortune_args()) prepare.push_back(f);
  r = run_unmask(prepare);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto summary = nlohmann::json::parse(r.out);
  EXPECT_GT(summary["splits"]["train"]["tokens"].get<int>(), 100000);
  EXPECT_GT(summary["splits"]["val"]["docs"].get<int>(), 100);
  EXPECT_EQ(summary["token_dtype"], "uint16");

  r = run_unmask({"data", "inspect", "--data", (dir / "data").string(), "--mode", "wrap", "--length", "32", "--rows",
                  "2", "--verify"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("mode wrap length 32"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("row 1 (32 real tokens)"), std::string::npos) << r.out;

  r = run_unmask({"tokenizer", "encode", "--tokenizer", (dir / "tok").string()}, "Hello, world!\n");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto d = run_unmask({"tokenizer", "decode", "--tokenizer", (dir / "tok").string()}, r.out);
  EXPECT_EQ(d.out, "Hello, world!\n");
}

TEST(Cli, UnknownCommandsAndKeysAreOneLineErrors) {
  auto r = run_unmask({"frobnicate"});
  EXPECT_EQ(r.code, 2);
  expect_one_line_error(r, "'frobnicate' is not a command of 'unmask' (valid: tokenizer, data, train");
  r = run_unmask({"data", "shuffle"});
  expect_one_line_error(r, "(valid: prepare, inspect)");
  r = run_unmask({"config", "dump", "--set", "model.hiden=3"});
  expect_one_line_error(r, "unknown config key 'model.hiden' (did you mean 'model.hidden'?)");
  r = run_unmask({"data", "prepare", "--bogus"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  r = run_unmask({"--log-level", "loud", "config", "dump"});
  expect_one_line_error(r, "unknown log level 'loud'");
}

TEST(Cli, EvalCommandsNeedTheirInputs) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"eval", "ppl"}, {"eval", "all"}})
    expect_one_line_error(run_unmask(args), "--checkpoint is required");
  expect_one_line_error(run_unmask({"eval", "gen-ppl", "--samples", "x.jsonl"}), "--scorer is required");
}

TEST(Cli, ConfigDumpPrintsTheResolvedTree) {
  TempDir dir;
  write_text(dir / "c.json", R"({"model": {"hidden": 64, "heads": 4}})");
  const auto r = run_unmask({"config", "dump", "--config", (dir / "c.json").string(), "--set", "train.lr=0.5"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["model"]["hidden"], 64);
  EXPECT_EQ(j["train"]["lr"], 0.5);
}

TEST(Cli, EveryShippedConfigIsValid) {
  std::size_t n = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(UNMASK_SOURCE_DIR) / "configs")) {
    if (entry.path().extension() != ".json") continue;
    ++n;
    const auto r = run_unmask({"config", "dump", "--config", entry.path().string()});
    EXPECT_EQ(r.code, 0) << entry.path() << ": " << r.err;
  }
  EXPECT_GE(n, 7u);
  const auto r = run_unmask({"config", "dump", "--set", "diffusion.objective=d3pm"});
  expect_one_line_error(r, "is discrete-time: set diffusion.T >= 1");
}

TEST(Cli, BadCorpusInputsFailCleanly) {
  TempDir dir;
  const std::string tok = fortune_tokenizer().string();
  auto r = run_unmask({"data", "prepare", "--input", (dir / "missing.txt").string(), "--tokenizer", tok, "--out",
                       (dir / "out").string()});
  expect_one_line_error(r, "input file not found");
  write_text(dir / "bad.txt", "ok\nbad \xff\n");
  r = run_unmask({"data", "prepare", "--input", (dir / "bad.txt").string(), "--tokenizer", tok, "--out",
                  (dir / "out").string(), "--on-invalid-utf8", "error"});
  expect_one_line_error(r, "bad.txt: invalid UTF-8 at byte offset 7 (line 2)");
  write_text(dir / "empty.txt", "");
  r = run_unmask({"data", "prepare", "--input", (dir / "empty.txt").string(), "--tokenizer", tok, "--out",
                  (dir / "out").string()});
  expect_one_line_error(r, "the corpus is empty");
  r = run_unmask({"tokenizer", "train", "--input", (dir / "empty.txt").string(), "--vocab-size", "1000", "--out",
                  (dir / "tok").string()});
  expect_one_line_error(r, "the corpus is empty");
  // A vocabulary too small for the corpus's characters, and one too large for
  // its text, get opposite advice.
  r = run_unmask({"tokenizer", "train", "--input", fortune_files().front().string(), "--vocab-size", "40",
                  "--no-byte-fallback", "--out", (dir / "tok").string()});
  expect_one_line_error(r, "raise --vocab-size or lower --character-coverage");
  write_text(dir / "tiny.txt", "a tiny corpus\nof two lines\n");
  r = run_unmask({"tokenizer", "train", "--input", (dir / "tiny.txt").string(), "--vocab-size", "5000", "--out",
                  (dir / "tok").string()});
  expect_one_line_error(r, "lower --vocab-size or give more text");
  fs::remove(dir / "tiny.txt");
  r = run_unmask({"data", "prepare", "--input", (dir / "bad.txt").string(), "--tokenizer", (dir / "nope").string(),
                  "--out", (dir / "out").string()});
  expect_one_line_error(r, "tokenizer directory not found");
  r = run_unmask({"data", "prepare", "--input", (dir / "bad.txt").string(), "--val-input", (dir / "bad.txt").string(),
                  "--tokenizer", tok, "--out", (dir / "out").string()});  // the default --val-fraction is 0.005
  expect_one_line_error(r, "--val-input gives the validation split; set --val-fraction 0 or drop --val-input");
  r = run_unmask({"data", "prepare", "--input", (dir / "bad.txt").string(), "--test-input",
                  (dir / "missing.txt").string(), "--tokenizer", tok, "--out", (dir / "out").string()});
  expect_one_line_error(r, "input file not found");
  // None of the failures left an output or a temporary directory behind.
  EXPECT_EQ(list_tree(dir.path()), (std::vector<std::string>{"bad.txt", "empty.txt"}));
  // Replace policy goes through and reports the repair.
  r = run_unmask({"data", "prepare", "--input", (dir / "bad.txt").string(), "--tokenizer", tok, "--out",
                  (dir / "out").string(), "--val-fraction", "0", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["invalid_utf8_repaired"], 1);
}

TEST(Cli, DamagedShardsAndForeignTokenizersAreReported) {
  TempDir dir;
  fs::copy(fortune_data(), dir / "data", fs::copy_options::recursive);
  const std::string data = (dir / "data").string();
  auto r = run_unmask({"data", "inspect", "--data", data, "--tokenizer", (dir / "data" / "tokenizer").string()});
  EXPECT_EQ(r.code, 0) << r.err;

  std::vector<std::string> train_bpe = {"tokenizer", "train", "--input", fortune_files().front().string(),
                                        "--vocab-size", "500", "--model-type", "bpe", "--out",
                                        (dir / "bpe").string()};  // another tokenizer
  ASSERT_EQ(run_unmask(train_bpe).code, 0);
  r = run_unmask({"data", "inspect", "--data", data, "--tokenizer", (dir / "bpe").string()});
  expect_one_line_error(r, "tokenizer mismatch");

  const fs::path shard = dir / "data" / "val-00000.bin";
  {
    std::fstream f(shard, std::ios::in | std::ios::out | std::ios::binary);
    f.write("XXXX", 4);
  }
  r = run_unmask({"data", "inspect", "--data", data, "--split", "val"});
  expect_one_line_error(r, "not an unmask shard (bad magic");

  fs::resize_file(dir / "data" / "train-00000.bin", fs::file_size(dir / "data" / "train-00000.bin") - 10);
  r = run_unmask({"data", "inspect", "--data", data});
  expect_one_line_error(r, "truncated or corrupt shard");
}

}  // namespace
}  // namespace unmask
