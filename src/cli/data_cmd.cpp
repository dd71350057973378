// `unmask data prepare|inspect`.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "commands.h"
#include "corpus_options.h"
#include "unmask/data/dataset.h"
#include "unmask/data/prepare.h"
#include "unmask/tokenizer/tokenizer.h"
#include "unmask/util/error.h"
#include "unmask/util/text.h"

namespace unmask::cli {
namespace {

void add_prepare(CLI::App* group) {
  auto* cmd = group->add_subcommand("prepare", "Tokenize a corpus on all cores into train/val shards");
  struct Args {
    CorpusArgs corpus;
    PrepareOptions o;
    std::string tokenizer, out;
    std::vector<std::string> val_inputs, test_inputs;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  a->corpus.add_to(cmd);
  cmd->add_option("--tokenizer", a->tokenizer, "tokenizer directory (unmask tokenizer train)")->required();
  cmd->add_option("--out", a->out, "data directory to create")->required();
  cmd->add_option("--val-fraction", a->o.val_fraction, "share of examples for validation")->capture_default_str();
  cmd->add_option("--test-fraction", a->o.test_fraction, "share of examples for test")->capture_default_str();
  cmd->add_option("--val-input", a->val_inputs,
                  "files whose examples all go to validation (a corpus's own split); needs --val-fraction 0");
  cmd->add_option("--test-input", a->test_inputs,
                  "files whose examples all go to test (e.g. LM1B's test split); needs --test-fraction 0");
  cmd->add_option("--seed", a->o.seed, "seed of the split assignment")->capture_default_str();
  cmd->add_option("--threads", a->o.threads, "tokenizer threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--shard-tokens", a->o.shard_tokens, "tokens per shard file at most")->capture_default_str();
  cmd->add_option("--dtype", a->o.dtype, "token storage: auto | uint16 | uint32")->capture_default_str();
  cmd->add_flag("--overwrite", a->o.overwrite, "replace an existing output directory");
  cmd->add_flag("--json", a->json, "print the summary as one JSON object");
  on_run(cmd, [a] {
    PrepareOptions o = a->o;
    o.inputs = to_paths(a->corpus.inputs);
    o.val_inputs = to_paths(a->val_inputs);
    o.test_inputs = to_paths(a->test_inputs);
    o.corpus = a->corpus.options();
    o.tokenizer = a->tokenizer;
    o.out = a->out;
    const auto s = prepare_data(o);
    nlohmann::ordered_json j = {{"out", o.out.string()},
                                {"examples", s.corpus.examples},
                                {"bytes", s.corpus.bytes},
                                {"seconds", s.seconds},
                                {"threads", s.threads},
                                {"token_dtype", s.token_bytes == 2 ? "uint16" : "uint32"},
                                {"invalid_utf8_repaired", s.corpus.invalid_utf8_repaired},
                                {"invalid_utf8_skipped", s.corpus.invalid_utf8_skipped}};
    std::uint64_t tokens = 0;
    for (const auto& [name, split] : s.splits) {
      j["splits"][name] = {{"docs", split.docs}, {"tokens", split.tokens}, {"shards", split.shards.size()}};
      tokens += split.tokens;
    }
    if (a->json) {
      std::cout << j.dump() << "\n";
      return;
    }
    for (const auto& [name, split] : s.splits)
      spdlog::info("{:>5}: {} documents, {} tokens, {} shard(s)", name, split.docs, split.tokens, split.shards.size());
    spdlog::info("prepared {} examples ({}) in {:.1f} s: {}/s, {:.0f} tokens/s on {} threads", s.corpus.examples,
                 human_bytes(static_cast<double>(s.corpus.bytes)), s.seconds,
                 human_bytes(static_cast<double>(s.corpus.bytes) / s.seconds), static_cast<double>(tokens) / s.seconds,
                 s.threads);
    if (s.corpus.invalid_utf8_repaired || s.corpus.invalid_utf8_skipped)
      spdlog::warn("invalid UTF-8: {} lines repaired with U+FFFD, {} examples skipped",
                   s.corpus.invalid_utf8_repaired, s.corpus.invalid_utf8_skipped);
    std::cout << o.out.string() << "\n";
  });
}

void add_inspect(CLI::App* group) {
  auto* cmd = group->add_subcommand("inspect", "Validate prepared shards and show rows as the loader cuts them");
  struct Args {
    std::string data, tokenizer, split = "train", mode = "pad";
    std::int64_t length = 128, rows = 3;
    bool verify = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--data", a->data, "prepared data directory")->required();
  cmd->add_option("--tokenizer", a->tokenizer, "tokenizer to check against (default: the copy in the data dir)");
  cmd->add_option("--split", a->split, "train | val | test")->capture_default_str();
  cmd->add_option("--mode", a->mode, "pad | wrap")->capture_default_str();
  cmd->add_option("--length", a->length, "row length")->capture_default_str();
  cmd->add_option("--rows", a->rows, "rows to print")->capture_default_str();
  cmd->add_flag("--verify", a->verify, "read every token and check it is inside the vocabulary");
  on_run(cmd, [a] {
    const std::filesystem::path tok_dir =
        a->tokenizer.empty() ? std::filesystem::path(a->data) / "tokenizer" : std::filesystem::path(a->tokenizer);
    const auto tok = load_tokenizer(tok_dir);
    const ShardedSplit split(a->data, a->split, tok->fingerprint());
    if (a->verify)
      for (std::size_t i = 0; i < split.num_shards(); ++i) split.shard(i).verify_tokens();
    const RowSource rows(split, parse_row_mode(a->mode), a->length);
    std::cout << fmt::format("split {}: {} shards, {} documents, {} tokens, vocab {}, tokenizer {}\n", a->split,
                             split.num_shards(), split.num_docs(), split.num_tokens(), split.vocab_size(),
                             split.fingerprint().substr(0, 16));
    std::cout << fmt::format("mode {} length {}: {} rows\n", a->mode, a->length, rows.num_rows());
    std::vector<std::int64_t> ids(static_cast<std::size_t>(a->length));
    std::vector<char> mask(static_cast<std::size_t>(a->length));
    for (std::int64_t r = 0; r < std::min<std::int64_t>(a->rows, static_cast<std::int64_t>(rows.num_rows())); ++r) {
      rows.row(static_cast<std::uint64_t>(r), ids.data(), reinterpret_cast<bool*>(mask.data()));
      std::vector<int> shown;
      for (std::size_t i = 0; i < ids.size(); ++i)
        if (mask[i]) shown.push_back(static_cast<int>(ids[i]));
      std::cout << fmt::format("row {} ({} real tokens): {}\n", r, shown.size(), tok->decode(shown));
    }
  });
}

}  // namespace

void add_data_commands(CLI::App& app) {
  auto* group = app.add_subcommand("data", "Prepare and inspect tokenized training data");
  group->require_subcommand(1);
  add_prepare(group);
  add_inspect(group);
}

}  // namespace unmask::cli
