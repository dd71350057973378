// `unmask sample` end to end on a briefly trained checkpoint: cached matches
// ancestral draw for draw with no more network calls, per-sample streams make
// sample i independent of the batch, prompts are kept, AR decodes left to
// right, and bad arguments get clear errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <iostream>
#include <set>
#include <sstream>

#include "test_util.h"

namespace unmask {
namespace {

using namespace unmask::test;

// Trains a tiny model once per objective for this test binary.
const fs::path& trained(const std::string& objective) {
  static TempDir dir;
  static std::map<std::string, fs::path> runs;
  auto it = runs.find(objective);
  if (it != runs.end()) return it->second;
  const fs::path config = dir / (objective + ".json");
  write_text(config, R"({"seed": 2, "model": {"backbone": "dit", "hidden": 32, "layers": 1, "heads": 2, "cond_dim": 16,
    "dropout": 0.0, "max_length": 32}, "diffusion": {"objective": ")" + objective + R"("},
    "data": {"path": ")" + fortune_data().string() + R"(", "mode": "pad", "length": 24},
    "train": {"batch_size": 8, "max_steps": 20, "lr": 0.003, "warmup_steps": 2, "ema": 0.9, "log_every": 10,
              "eval_every": 20, "val_batches": 1, "checkpoint_every": 20, "sample_every": 0, "device": "cpu"},
    "sample": {"num": 2, "length": 24, "steps": 16}})");
  const fs::path run = dir / objective;
  const auto r = run_unmask({"train", "--config", config.string(), "--out", run.string()});
  if (r.code != 0) throw std::runtime_error("training the test model failed: " + r.err);
  return runs[objective] = run;
}

std::vector<nlohmann::json> sample(const std::vector<std::string>& extra, const std::string& objective = "mdlm") {
  TempDir dir;
  std::vector<std::string> args = {"sample", "--checkpoint", trained(objective).string(), "--out",
                                   (dir / "s.jsonl").string()};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto r = run_unmask(args);
  if (r.code != 0) throw std::runtime_error("unmask sample failed: " + r.err);
  std::vector<nlohmann::json> out;
  std::istringstream in(read_text(dir / "s.jsonl"));
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(Sample, CachedMatchesAncestralDrawForDrawWithNoMoreCalls) {
  const auto a = sample({"--num", "4", "--steps", "40", "--seed", "7", "--sampler", "ancestral"});
  const auto c = sample({"--num", "4", "--steps", "40", "--seed", "7", "--sampler", "cached"});
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(c.size(), 4u);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["ids"], c[i]["ids"]) << i;
    // A pad-mode sample ends at its first EOS, or fills the canvas.
    ASSERT_LE(a[i]["ids"].size(), 24u);
    if (a[i]["ids"].size() < 24u) EXPECT_EQ(a[i]["ids"].back(), 3);
    EXPECT_EQ(a[i]["ids"][0], 2);  // BOS
    for (const auto& id : a[i]["ids"]) EXPECT_NE(id.get<int>(), 4);  // nothing left masked
    for (const char* key : {"text", "ids", "seed", "sampler", "steps", "nfe", "seconds"}) EXPECT_TRUE(a[i].contains(key));
  }
  EXPECT_LE(c[0]["nfe"].get<int>(), a[0]["nfe"].get<int>());
  EXPECT_LE(a[0]["nfe"].get<int>(), 41);
  EXPECT_LT(c[0]["nfe"].get<int>(), 41);  // 23 tokens over 40 steps: some steps change nothing
  // Every step the cache saved is a call ancestral made.
  EXPECT_EQ(c[0]["nfe"].get<int>() + c[0]["nfe_saved"].get<int>(), a[0]["nfe"].get<int>());
  EXPECT_EQ(a[0]["nfe_saved"].get<int>(), 0);
}

TEST(Sample, SampleIDoesNotDependOnItsBatch) {
  const auto three = sample({"--num", "3", "--steps", "16", "--seed", "11"});
  const auto one = sample({"--num", "1", "--steps", "16", "--seed", "11"});
  EXPECT_EQ(one[0]["ids"], three[0]["ids"]);
  EXPECT_EQ(one[0]["seed"], three[0]["seed"]);
  EXPECT_NE(three[0]["ids"], three[1]["ids"]);
  const auto other_seed = sample({"--num", "1", "--steps", "16", "--seed", "12"});
  EXPECT_NE(other_seed[0]["ids"], one[0]["ids"]);
}

TEST(Sample, PromptTokensAreKept) {
  const auto enc = run_unmask({"tokenizer", "encode", "--tokenizer", (trained("mdlm") / "checkpoints" / "step-0000020" /
                                                                     "tokenizer").string(), "--text", "The cat sat"});
  ASSERT_EQ(enc.code, 0) << enc.err;
  std::vector<int> prompt;
  std::istringstream in(enc.out);
  for (int id; in >> id;) prompt.push_back(id);
  for (const std::string& objective : {"mdlm", "ar"}) {
    const auto s = sample({"--num", "2", "--steps", "16", "--prompt", "The cat sat"}, objective);
    for (const auto& row : s) {
      for (std::size_t j = 0; j < prompt.size(); ++j) EXPECT_EQ(row["ids"][j + 1].get<int>(), prompt[j]) << objective;
      EXPECT_EQ(row["text"].get<std::string>().rfind("The cat sat", 0), 0u) << objective << ": " << row["text"];
    }
    if (objective != "ar") continue;
    // One call per generated position, until every sample has said EOS (pad-mode data: the rest is [PAD]).
    const auto nfe = s[0]["nfe"].get<std::size_t>();
    EXPECT_LE(nfe, 24 - 1 - prompt.size());
    for (const auto& row : s) {
      const auto& ids = row["ids"];
      const std::size_t last = prompt.size() + nfe;  // the last position decoded
      if (nfe < 24 - 1 - prompt.size()) {
        bool eos = false;
        for (std::size_t j = 1; j <= last; ++j) eos = eos || ids[j].get<int>() == 3;
        EXPECT_TRUE(eos) << "stopped before every sample ended";
        for (std::size_t j = last + 1; j < ids.size(); ++j) EXPECT_EQ(ids[j].get<int>(), 0);  // [PAD]
      }
    }
  }
}

TEST(Sample, InfillingKeepsTheTemplateAndFillsTheSpans) {
  const std::string tok = (trained("mdlm") / "checkpoints" / "step-0000020" / "tokenizer").string();
  auto ids_of = [&](const std::string& text) {
    std::vector<int> ids;
    std::istringstream in(run_unmask({"tokenizer", "encode", "--tokenizer", tok, "--text", text}).out);
    for (int id; in >> id;) ids.push_back(id);
    return ids;
  };
  const auto head = ids_of("The "), tail = ids_of(" sat on the mat.");
  for (const std::string& sampler : {"ancestral", "first_hitting", "confidence"}) {
    const auto s = sample({"--num", "2", "--steps", "8", "--sampler", sampler, "--prompt",
                           "The [MASK:3] sat on the mat."});
    for (const auto& row : s) {
      const auto& ids = row["ids"];
      std::size_t j = 1;
      for (int id : head) EXPECT_EQ(ids[j++].get<int>(), id) << sampler;
      for (int k = 0; k < 3; ++k) EXPECT_NE(ids[j++].get<int>(), 4) << sampler;  // filled
      for (int id : tail) EXPECT_EQ(ids[j++].get<int>(), id) << sampler;
    }
  }
  const auto r = run_unmask({"sample", "--checkpoint", trained("ar").string(), "--prompt", "a [MASK:2] b"});
  EXPECT_NE(r.err.find("cannot fill [MASK:n] spans"), std::string::npos) << r.err;
  const auto bad = run_unmask({"sample", "--checkpoint", trained("mdlm").string(), "--prompt", "a [MASK:x] b"});
  EXPECT_NE(bad.err.find("bad infilling span"), std::string::npos) << bad.err;
}

const char* kSentence = "the quick brown fox jumps over the lazy dog.";

// dir/data: the one sentence above, 300 times, with the fortunes tokenizer.
void prepare_one_sentence(const TempDir& dir) {
  std::string corpus;
  for (int i = 0; i < 300; ++i) corpus += std::string(kSentence) + "\n";
  write_text(dir / "corpus.txt", corpus);
  const auto r = run_unmask({"data", "prepare", "--input", (dir / "corpus.txt").string(), "--tokenizer",
                             fortune_tokenizer().string(), "--out", (dir / "data").string(), "--val-fraction", "0"});
  ASSERT_EQ(r.code, 0) << r.err;
}

// A model trained on one repeated sentence has memorised it: every sampler
// (and AR decoding for an ar model) must give it back exactly.
TEST(Sample, EverySamplerReproducesAMemorisedSentence) {
  TempDir dir;
  prepare_one_sentence(dir);
  if (HasFatalFailure()) return;
  const std::string sentence = kSentence;
  RunResult r;
  // bd3lm: blocks of 5, with the KV cache and recomputing the prefix.
  for (const std::string run : {"mdlm", "ar", "bd3lm"}) {
    const std::string objective = run;
    const std::string backbone = "bert";
    const std::string blocks = objective == "bd3lm" ? R"(, "block_size": 5)" : "";
    const fs::path config = dir / (run + ".json");
    write_text(config, R"({"seed": 1, "model": {"backbone": ")" + backbone + R"(", "hidden": 64, "layers": 2, "heads": 4,
      "dropout": 0.0, "max_length": 32}, "diffusion": {"objective": ")" + objective + "\"" + blocks + R"(},
      "data": {"path": ")" + (dir / "data").string() + R"(", "mode": "pad", "length": 20},
      "train": {"batch_size": 16, "max_steps": 150, "lr": 0.003, "warmup_steps": 10, "ema": 0.0, "log_every": 50,
                "eval_every": 1000, "val_batches": 0, "checkpoint_every": 1000, "sample_every": 0, "device": "cpu"},
      "sample": {"length": 20, "steps": 20}})");
    r = run_unmask({"train", "--config", config.string(), "--out", (dir / run).string()});
    ASSERT_EQ(r.code, 0) << r.err;
    const std::vector<std::string> samplers =
        objective == "ar"      ? std::vector<std::string>{"ancestral"}
        : objective == "bd3lm" ? std::vector<std::string>{"ancestral", "first_hitting", "confidence"}
                               : std::vector<std::string>{"ancestral", "cached", "first_hitting", "confidence", "semi_ar"};
    for (const auto& sampler : samplers) {
      for (const bool cache : {true, false}) {
        if (!cache && objective == "mdlm") continue;
        std::vector<std::string> args = {"sample", "--checkpoint", (dir / run).string(), "--num", "3", "--sampler",
                                         sampler, "--block-size", "5"};
        if (!cache) args.push_back("--no-kv-cache");
        r = run_unmask(args);
        ASSERT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(r.out, sentence + "\n" + sentence + "\n" + sentence + "\n") << run << "/" << sampler << cache;
      }
    }
  }
}

// Fast-dLLM's Theorem 1 (Wu et al. 2025): when every marginal is above 1 − ε
// with (n + 1)ε ≤ 1, as on a model that has memorised its one sentence,
// parallel greedy decoding (threshold or factor) gives exactly the tokens of
// one-at-a-time greedy decoding, in fewer network calls. Inside semi_ar the
// calls of each block are reported.
TEST(Sample, ParallelDecodingOfAMemorisedSentenceEqualsOneAtATime) {
  TempDir dir;
  prepare_one_sentence(dir);
  if (HasFatalFailure()) return;
  const fs::path config = dir / "mdlm.json";
  write_text(config, R"({"seed": 1, "model": {"backbone": "bert", "hidden": 64, "layers": 2, "heads": 4,
    "dropout": 0.0, "max_length": 32}, "diffusion": {"objective": "mdlm"},
    "data": {"path": ")" + (dir / "data").string() + R"(", "mode": "pad", "length": 20},
    "train": {"batch_size": 16, "max_steps": 150, "lr": 0.003, "warmup_steps": 10, "ema": 0.0, "log_every": 50,
              "eval_every": 1000, "val_batches": 0, "checkpoint_every": 1000, "sample_every": 0, "device": "cpu"},
    "sample": {"length": 20, "steps": 19, "sampler": "confidence"}})");
  auto r = run_unmask({"train", "--config", config.string(), "--out", (dir / "run").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  auto sample = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"sample", "--checkpoint", (dir / "run").string(), "--num", "3", "--temperature",
                                     "0", "--out", (dir / "s.jsonl").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto res = run_unmask(args);
    EXPECT_EQ(res.code, 0) << res.err;
    std::vector<nlohmann::json> rows;
    std::istringstream in(read_text(dir / "s.jsonl"));
    for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
    return rows;
  };
  const auto one_at_a_time = sample({"--sampler", "confidence", "--steps", "19"});  // 19 positions, one a step
  ASSERT_EQ(one_at_a_time.size(), 3u);
  EXPECT_EQ(one_at_a_time[0]["nfe"], 19);
  EXPECT_EQ(one_at_a_time[0]["text"], kSentence);
  for (const std::vector<std::string> rule : {std::vector<std::string>{"--unmask", "threshold", "--threshold", "0.9"},
                                              std::vector<std::string>{"--unmask", "factor", "--factor", "1"}}) {
    std::vector<std::string> args = {"--sampler", "confidence"};
    args.insert(args.end(), rule.begin(), rule.end());
    const auto parallel = sample(args);
    ASSERT_EQ(parallel.size(), 3u) << rule[1];
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(parallel[i]["ids"], one_at_a_time[i]["ids"]) << rule[1] << " row " << i;
    EXPECT_LT(parallel[0]["nfe"].get<int>(), 19) << rule[1];
    std::cout << "[ parallel ] --unmask " << rule[1] << ": " << parallel[0]["nfe"] << " calls for 19 tokens\n";
  }
  const auto blocks = sample({"--sampler", "semi_ar", "--inner", "confidence", "--block-size", "5", "--unmask",
                              "threshold"});
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(blocks[0]["text"], kSentence);
  const auto per_block = blocks[0]["nfe_per_block"].get<std::vector<int>>();
  ASSERT_EQ(per_block.size(), 4u);  // 19 positions in blocks of 5: 5, 5, 5, 4
  int total = 0;
  for (int calls : per_block) {
    EXPECT_GE(calls, 1);
    total += calls;
  }
  EXPECT_EQ(total, blocks[0]["nfe"].get<int>());
  // What the rules apply to.
  r = run_unmask({"sample", "--checkpoint", (dir / "run").string(), "--sampler", "ancestral", "--unmask", "threshold"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--unmask threshold reveals every confident position: use --sampler confidence"),
            std::string::npos) << r.err;
  r = run_unmask({"sample", "--checkpoint", (dir / "run").string(), "--unmask", "threshold", "--remask"});
  EXPECT_NE(r.err.find("--remask re-scores revealed tokens on a schedule"), std::string::npos) << r.err;
  r = run_unmask({"sample", "--checkpoint", (dir / "run").string(), "--unmask", "threshold", "--threshold", "1.5"});
  EXPECT_NE(r.err.find("--threshold must lie in (0, 1]"), std::string::npos) << r.err;
  r = run_unmask({"sample", "--checkpoint", (dir / "run").string(), "--unmask", "sometimes"});
  EXPECT_NE(r.err.find("unknown --unmask 'sometimes' (valid: schedule, threshold, factor)"), std::string::npos) << r.err;
  // Fast-dLLM's caches on blocks of 5 decoded in 4 steps each (threshold
  // decoding finishes each block in its first, full, call here): the memorised
  // sentence again, from fewer positions run through the network; fp32 is what
  // the CPU runs anyway.
  const std::vector<std::string> stepped = {"--sampler", "semi_ar", "--inner", "confidence", "--block-size", "5",
                                            "--steps", "16", "--precision", "fp32"};
  const auto uncached = sample(stepped);
  ASSERT_EQ(uncached.size(), 3u);
  EXPECT_EQ(uncached[0]["text"], kSentence);
  for (const std::string cache : {"prefix", "dual"}) {
    std::vector<std::string> args = stepped;
    args.insert(args.end(), {"--cache", cache});
    const auto cached = sample(args);
    ASSERT_EQ(cached.size(), 3u) << cache;
    EXPECT_EQ(cached[0]["text"], kSentence) << cache;
    EXPECT_EQ(cached[0]["nfe"], uncached[0]["nfe"]) << cache;
    EXPECT_LT(cached[0]["positions_computed"].get<int>(), uncached[0]["positions_computed"].get<int>()) << cache;
    std::cout << "[ caches   ] --cache " << cache << ": " << cached[0]["positions_computed"] << " positions, uncached "
              << uncached[0]["positions_computed"] << "\n";
  }
  r = run_unmask({"sample", "--checkpoint", (dir / "run").string(), "--sampler", "confidence", "--cache", "dual"});
  EXPECT_NE(r.err.find("--cache dual keeps the keys/values outside a block: use --sampler semi_ar"), std::string::npos)
      << r.err;
  r = run_unmask({"sample", "--checkpoint", (dir / "run").string(), "--precision", "fp16"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("unknown --precision 'fp16' (valid: run, fp32, bf16)"), std::string::npos) << r.err;
  // --deterministic on the CPU: the same tokens as without (the CPU is deterministic anyway).
  const auto plain = sample({"--sampler", "ancestral", "--steps", "7", "--seed", "5"});
  const auto deterministic = sample({"--sampler", "ancestral", "--steps", "7", "--seed", "5",
                                     "--deterministic"});
  ASSERT_EQ(deterministic.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(deterministic[i]["ids"], plain[i]["ids"]) << "row " << i;
  r = run_unmask({"sample", "--checkpoint", (dir / "run").string(), "--deterministic", "--precision", "bf16"});
  EXPECT_NE(r.err.find("--deterministic samples in fp32: drop --precision bf16"), std::string::npos) << r.err;
  r = run_unmask({"sample", "--checkpoint", (dir / "run").string(), "--deterministic", "--cuda-graph"});
  EXPECT_NE(r.err.find("--deterministic and --cuda-graph do not go together"), std::string::npos) << r.err;
  r = run_unmask({"eval", "ppl", "--checkpoint", (dir / "run").string(), "--precision", "half"});
  EXPECT_NE(r.err.find("unknown --precision 'half' (valid: run, fp32, bf16)"), std::string::npos) << r.err;
}

// Pad rows longer than the sentence, trained with data.pad_loss (the [PAD]
// after EOS is trained on): a canvas of data.length gives the sentence back,
// and text and ids end at the first EOS. (Without it a rotary dit, which has
// no absolute positions, spreads the sentence over the canvas; this bert
// mostly finds the end from its position table.)
TEST(Sample, PadLossLetsAPadModeSampleEndAtEos) {
  TempDir dir;
  prepare_one_sentence(dir);
  if (HasFatalFailure()) return;
  const std::string sentence = kSentence;
  RunResult r;
  const fs::path config = dir / "mdlm.json";
  write_text(config, R"({"seed": 1, "model": {"backbone": "bert", "hidden": 64, "layers": 2, "heads": 4,
    "dropout": 0.0, "max_length": 32}, "diffusion": {"objective": "mdlm"},
    "data": {"path": ")" + (dir / "data").string() + R"(", "mode": "pad", "length": 32, "pad_loss": true},
    "train": {"batch_size": 16, "max_steps": 300, "lr": 0.003, "warmup_steps": 10, "ema": 0.0, "log_every": 50,
              "eval_every": 1000, "val_batches": 0, "checkpoint_every": 1000, "sample_every": 0, "device": "cpu"},
    "sample": {"length": 32, "steps": 32}})");
  r = run_unmask({"train", "--config", config.string(), "--out", (dir / "run").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const std::string sampler : {"ancestral", "first_hitting", "confidence"}) {
    r = run_unmask({"sample", "--checkpoint", (dir / "run").string(), "--num", "3", "--sampler", sampler, "--out",
                    (dir / (sampler + ".jsonl")).string()});
    ASSERT_EQ(r.code, 0) << r.err;
    std::istringstream in(read_text(dir / (sampler + ".jsonl")));
    int lines = 0;
    for (std::string line; std::getline(in, line); ++lines) {
      const auto j = nlohmann::json::parse(line);
      EXPECT_EQ(j["text"], sentence) << sampler;
      const auto ids = j["ids"].get<std::vector<std::int64_t>>();
      ASSERT_LT(ids.size(), 32u) << sampler;  // cut after EOS
      EXPECT_EQ(ids.back(), 3) << sampler;     // [EOS]
    }
    EXPECT_EQ(lines, 3) << sampler;
  }
  // Wrap rows have no padding to train on.
  r = run_unmask({"train", "--config", config.string(), "--out", (dir / "wrap").string(), "--set", "data.mode=wrap"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("data.pad_loss=true applies to data.mode=pad"), std::string::npos) << r.err;
}

// A prompt file gives one prompt per sample (line i mod P); --num defaults to
// the number of prompts; the JSONL says which prompt each sample had.
TEST(Sample, PromptFileGivesEachSampleItsPrompt) {
  TempDir dir;
  write_text(dir / "prompts.txt", "The cat\nA dog [MASK:2] here\n");
  const auto s = sample({"--prompt-file", (dir / "prompts.txt").string(), "--steps", "8"});
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0]["prompt"], "The cat");
  EXPECT_EQ(s[1]["prompt"], "A dog [MASK:2] here");
  EXPECT_EQ(s[0]["text"].get<std::string>().rfind("The cat", 0), 0u) << s[0]["text"];
  EXPECT_EQ(s[1]["text"].get<std::string>().rfind("A dog", 0), 0u) << s[1]["text"];
  const auto more = sample({"--prompt-file", (dir / "prompts.txt").string(), "--steps", "8", "--num", "3"});
  ASSERT_EQ(more.size(), 3u);
  EXPECT_EQ(more[2]["prompt"], "The cat");
}

// reveal_step: for each entry of ids, the step that gave it its final token;
// 0 exactly at the positions fixed from the start (BOS, the template).
TEST(Sample, RevealStepsRecordTheOrderOfUnmasking) {
  const std::string tok = (trained("mdlm") / "checkpoints" / "step-0000020" / "tokenizer").string();
  auto count_ids = [&](const std::string& text) {
    std::istringstream in(run_unmask({"tokenizer", "encode", "--tokenizer", tok, "--text", text}).out);
    std::size_t n = 0;
    for (int id; in >> id;) ++n;
    return n;
  };
  const std::size_t head = count_ids("The "), tail = count_ids(" sat");
  for (const std::string sampler : {"ancestral", "cached", "first_hitting", "confidence", "semi_ar"}) {
    for (const auto& row : sample({"--sampler", sampler, "--steps", "16", "--block-size", "8", "--prompt",
                                   "The [MASK:2] sat"})) {
      const auto ids = row["ids"].get<std::vector<std::int64_t>>();
      const auto reveal = row["reveal_step"].get<std::vector<std::int64_t>>();
      ASSERT_EQ(reveal.size(), ids.size()) << sampler;
      ASSERT_GT(reveal.size(), 1 + head + 2 + tail) << sampler;  // the EOS comes after the template
      for (std::size_t j = 0; j < reveal.size(); ++j) {
        const bool fixed = j == 0 || (j >= 1 && j <= head) || (j >= head + 3 && j < head + 3 + tail);
        if (fixed) EXPECT_EQ(reveal[j], 0) << sampler << " position " << j;
        else EXPECT_GT(reveal[j], 0) << sampler << " position " << j;
      }
      // first_hitting reveals one position per network call: no two share a step.
      if (sampler == "first_hitting") {
        std::set<std::int64_t> steps(reveal.begin(), reveal.end());
        EXPECT_EQ(steps.size(), reveal.size() - head - tail) << "first_hitting";  // + the single 0
      }
    }
  }
  // AR decoding reveals left to right.
  for (const auto& row : sample({"--prompt", "The"}, "ar")) {
    const auto reveal = row["reveal_step"].get<std::vector<std::int64_t>>();
    for (std::size_t j = 2 + count_ids("The") ; j < reveal.size(); ++j) EXPECT_GT(reveal[j], reveal[j - 1]);
  }
}

// --show-steps numbers the canvases 1, 2, 3, ... (its counter once outlived
// its scope and printed garbage).
TEST(Sample, ShowStepsNumbersEveryStep) {
  for (const std::string sampler : {"ancestral", "first_hitting", "semi_ar"}) {
    const auto r = run_unmask({"--log-level", "warn", "sample", "--checkpoint", trained("mdlm").string(), "--num", "1",
                               "--steps", "8", "--block-size", "8", "--sampler", sampler, "--show-steps"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::istringstream in(r.err);
    std::int64_t expected = 1;
    for (std::string line; std::getline(in, line);) {
      ASSERT_EQ(line.rfind("step " + std::to_string(expected) + ": ", 0), 0u) << sampler << ": " << line;
      ++expected;
    }
    EXPECT_GT(expected, 2) << sampler << ": " << r.err;
  }
}

// Past the model's context (32 positions here) semi_ar slides a window.
TEST(Sample, SemiArWritesTextLongerThanTheContext) {
  const auto s = sample({"--sampler", "semi_ar", "--length", "80", "--block-size", "8", "--steps", "40", "--num", "2"});
  ASSERT_EQ(s.size(), 2u);
  for (const auto& row : s) {
    // Pad-mode samples end at their first EOS; every block was denoised all the same.
    const auto ids = row["ids"].get<std::vector<int>>();
    ASSERT_LE(ids.size(), 80u);
    if (ids.size() < 80u) EXPECT_EQ(ids.back(), 3);
    for (const int id : ids) EXPECT_NE(id, 4);
    EXPECT_EQ(row["nfe"].get<int>(), 40) << "10 blocks of 8, 4 steps each";
  }
}

TEST(Sample, BadArgumentsAreClearErrors) {
  const std::string ckpt = trained("mdlm").string();
  auto r = run_unmask({"sample", "--checkpoint", ckpt, "--steps", "0"});
  EXPECT_NE(r.err.find("steps must be at least 1"), std::string::npos) << r.err;
  r = run_unmask({"sample", "--checkpoint", ckpt, "--top-p", "1.5"});
  EXPECT_NE(r.err.find("top-p must be in (0, 1]"), std::string::npos) << r.err;
  r = run_unmask({"sample", "--checkpoint", ckpt, "--sampler", "beam"});
  EXPECT_NE(r.err.find("unknown sampler 'beam' (known: ancestral, cached, confidence, first_hitting, remdm, semi_ar)"), std::string::npos) << r.err;
  r = run_unmask({"sample", "--checkpoint", ckpt, "--length", "4", "--prompt", "a long prompt that does not fit"});
  EXPECT_NE(r.err.find("does not fit in length 4"), std::string::npos) << r.err;
  r = run_unmask({"sample", "--checkpoint", ckpt, "--cuda-graph", "--device", "cpu"});
  EXPECT_NE(r.err.find("CUDA-graph capture needs the model on a CUDA device"), std::string::npos) << r.err;
  r = run_unmask({"sample", "--checkpoint", ckpt, "--length", "40"});  // model.max_length is 32
  EXPECT_NE(r.err.find("--sampler semi_ar slides a window"), std::string::npos) << r.err;
  r = run_unmask({"sample", "--checkpoint", ckpt, "--prompt", "a", "--prompt-file", "p.txt"});
  EXPECT_NE(r.err.find("not both"), std::string::npos) << r.err;
  TempDir dir;
  r = run_unmask({"sample", "--checkpoint", ckpt, "--prompt-file", (dir / "missing.txt").string()});
  EXPECT_NE(r.err.find("cannot read --prompt-file"), std::string::npos) << r.err;
  r = run_unmask({"sample", "--checkpoint", ckpt, "--sampler", "semi_ar", "--inner", "beam"});
  EXPECT_NE(r.err.find("unknown inner sampler 'beam' for semi_ar (valid: ancestral, confidence)"), std::string::npos)
      << r.err;
  r = run_unmask({"sample", "--checkpoint", ckpt, "--sampler", "confidence", "--filter", "reverse"});
  EXPECT_NE(r.err.find("--filter reverse draws from the ancestral reverse step"), std::string::npos) << r.err;
  r = run_unmask({"sample", "--checkpoint", ckpt, "--filter", "logits"});
  EXPECT_NE(r.err.find("unknown filter 'logits' (valid: x0, reverse)"), std::string::npos) << r.err;
  r = run_unmask({"sample", "--checkpoint", ckpt, "--draw", "float32"});
  EXPECT_NE(r.err.find("unknown draw 'float32' (valid: exact, gumbel64, gumbel32)"), std::string::npos) << r.err;
  r = run_unmask({"sample", "--checkpoint", ckpt, "--block-size", "0"});
  EXPECT_NE(r.err.find("block size must be at least 1"), std::string::npos) << r.err;
  write_text(dir / "empty.txt", "");
  r = run_unmask({"sample", "--checkpoint", ckpt, "--prompt-file", (dir / "empty.txt").string()});
  EXPECT_NE(r.err.find("has no prompts"), std::string::npos) << r.err;
  fs::copy(trained("mdlm") / "checkpoints" / "step-0000020", dir / "ckpt", fs::copy_options::recursive);
  fs::remove_all(dir / "ckpt" / "tokenizer");
  r = run_unmask({"sample", "--checkpoint", (dir / "ckpt").string()});
  EXPECT_NE(r.err.find("is missing tokenizer/tokenizer.json (listed in its manifest)"), std::string::npos) << r.err;
  fs::remove(dir / "ckpt" / "manifest.json");  // a checkpoint from before manifests
  r = run_unmask({"sample", "--checkpoint", (dir / "ckpt").string()});
  EXPECT_NE(r.err.find("has no tokenizer"), std::string::npos) << r.err;
  r = run_unmask({"sample", "--checkpoint", (dir / "nothing").string()});
  EXPECT_NE(r.err.find("no checkpoint at"), std::string::npos) << r.err;
  for (const auto& res : {r}) EXPECT_EQ(res.code, 1);
}

}  // namespace
}  // namespace unmask
