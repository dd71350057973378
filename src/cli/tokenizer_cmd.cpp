// `unmask tokenizer train|encode|decode`.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "commands.h"
#include "corpus_options.h"
#include "unmask/tokenizer/tokenizer.h"
#include "unmask/tokenizer/train.h"
#include "unmask/util/error.h"

namespace unmask::cli {
namespace {

void add_train(CLI::App* group) {
  auto* cmd = group->add_subcommand("train", "Train a SentencePiece tokenizer with [PAD] [UNK] [BOS] [EOS] [MASK]");
  struct Args {
    CorpusArgs corpus;
    TokenizerTrainOptions o;
    std::string out;
    bool no_byte_fallback = false;
  };
  auto a = std::make_shared<Args>();
  a->corpus.add_to(cmd);
  cmd->add_option("--out", a->out, "tokenizer directory to create")->required();
  cmd->add_option("--vocab-size", a->o.vocab_size, "vocabulary size, special and byte pieces included")->required();
  cmd->add_option("--model-type", a->o.model_type, "unigram | bpe")->capture_default_str();
  cmd->add_flag("--no-byte-fallback", a->no_byte_fallback, "map unknown characters to [UNK] instead of bytes");
  cmd->add_option("--normalization", a->o.normalization,
                  "identity (lossless) | nfkc | nmt_nfkc | nfkc_cf | nmt_nfkc_cf")->capture_default_str();
  cmd->add_option("--character-coverage", a->o.character_coverage, "share of characters given their own piece")
      ->capture_default_str();
  cmd->add_option("--max-sentences", a->o.max_sentences, "sentences sampled for training")->capture_default_str();
  cmd->add_option("--threads", a->o.threads, "trainer threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--seed", a->o.seed, "trainer seed")->capture_default_str();
  cmd->add_flag("--overwrite", a->o.overwrite, "replace an existing output directory");
  cmd->add_flag("--verbose", a->o.verbose, "show SentencePiece's own log");
  on_run(cmd, [a] {
    TokenizerTrainOptions o = a->o;
    o.inputs = to_paths(a->corpus.inputs);
    o.corpus = a->corpus.options();
    o.out = a->out;
    o.byte_fallback = !a->no_byte_fallback;
    const auto s = train_tokenizer(o);
    spdlog::info("trained {} tokenizer: vocab {} from {} examples ({} sentences); fingerprint {}", o.model_type,
                 s.vocab_size, s.corpus.examples, s.sentences, s.fingerprint.substr(0, 16));
    if (s.corpus.invalid_utf8_repaired || s.corpus.invalid_utf8_skipped)
      spdlog::warn("invalid UTF-8: {} lines repaired, {} examples skipped", s.corpus.invalid_utf8_repaired,
                   s.corpus.invalid_utf8_skipped);
    std::cout << o.out.string() << "\n";
  });
}

void add_encode_decode(CLI::App* group) {
  auto* enc = group->add_subcommand("encode", "Print the token ids of each input line");
  auto* dec = group->add_subcommand("decode", "Print the text of each line of space-separated ids");
  struct Args {
    std::string tokenizer, text;
    bool pieces = false;
  };
  auto a = std::make_shared<Args>();
  for (auto* cmd : {enc, dec}) {
    cmd->add_option("--tokenizer", a->tokenizer, "tokenizer directory")->required();
    cmd->add_option("--text", a->text, "one input instead of lines on standard input");
  }
  enc->add_flag("--pieces", a->pieces, "print pieces instead of ids");
  auto lines = [a](const std::function<void(const std::string&)>& each) {
    if (!a->text.empty()) return each(a->text);
    for (std::string line; std::getline(std::cin, line);) each(line);
  };
  on_run(enc, [a, lines] {
    const auto tok = load_tokenizer(a->tokenizer);
    lines([&](const std::string& line) {
      const auto ids = tok->encode(line);
      std::string out;
      for (std::size_t i = 0; i < ids.size(); ++i)
        out += (i ? " " : "") + (a->pieces ? tok->piece(ids[i]) : std::to_string(ids[i]));
      std::cout << out << "\n";
    });
  });
  on_run(dec, [a, lines] {
    const auto tok = load_tokenizer(a->tokenizer);
    lines([&](const std::string& line) {
      std::vector<int> ids;
      std::istringstream in(line);
      for (std::string item; in >> item;) {
        try {
          std::size_t used = 0;
          ids.push_back(std::stoi(item, &used));
          if (used != item.size()) throw std::invalid_argument(item);
        } catch (const std::exception&) {
          throw Error("decode expects space-separated integer ids, got '" + item + "'");
        }
      }
      std::cout << tok->decode(ids) << "\n";
    });
  });
}

}  // namespace

void add_tokenizer_commands(CLI::App& app) {
  auto* group = app.add_subcommand("tokenizer", "Train and use tokenizers");
  group->require_subcommand(1);
  add_train(group);
  add_encode_decode(group);
}

}  // namespace unmask::cli
