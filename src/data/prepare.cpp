// Parallel tokenization pipeline: the main thread reads block k+1 while worker
// threads encode block k; blocks are written in input order, so the output
// does not depend on the thread count.
#include "unmask/data/prepare.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "unmask/data/shard.h"
#include "unmask/tokenizer/tokenizer.h"
#include "unmask/util/error.h"
#include "unmask/util/fs.h"
#include "unmask/util/hash.h"
#include "unmask/util/progress.h"
#include "unmask/util/text.h"

namespace unmask {
namespace {

struct Block {
  std::vector<std::string> texts;
  std::uint64_t first_index = 0;  // example number of texts[0]
};

Block read_block(CorpusReader& reader, std::size_t target_bytes, std::uint64_t first_index) {
  Block block;
  block.first_index = first_index;
  std::size_t bytes = 0;
  std::string text;
  while (bytes < target_bytes && reader.next(text)) {
    bytes += text.size();
    block.texts.push_back(std::move(text));
  }
  return block;
}

std::vector<std::vector<int>> encode_block(const Tokenizer& tok, const Block& block, int threads) {
  std::vector<std::vector<int>> ids(block.texts.size());
  const std::size_t n = block.texts.size();
  const std::size_t chunks = std::min<std::size_t>(static_cast<std::size_t>(threads), std::max<std::size_t>(n, 1));
  std::vector<std::future<void>> tasks;
  for (std::size_t c = 0; c < chunks; ++c) {
    const std::size_t lo = n * c / chunks, hi = n * (c + 1) / chunks;
    tasks.push_back(std::async(std::launch::async, [&, lo, hi] {
      for (std::size_t i = lo; i < hi; ++i) ids[i] = tok.encode(block.texts[i]);
    }));
  }
  for (auto& t : tasks) t.get();  // rethrows a worker's exception
  return ids;
}

// Writes one split's documents into numbered shards of bounded size.
class SplitWriter {
 public:
  SplitWriter(std::string name, std::filesystem::path dir, std::uint32_t token_bytes, std::uint32_t vocab,
              Digest fingerprint, std::uint64_t shard_tokens)
      : name_(std::move(name)), dir_(std::move(dir)), token_bytes_(token_bytes), vocab_(vocab),
        fingerprint_(fingerprint), shard_tokens_(shard_tokens) {}

  void add(const std::vector<int>& ids) {
    if (!writer_) {
      const std::string file = fmt::format("{}-{:05}.bin", name_, summary_.shards.size());
      writer_ = std::make_unique<ShardWriter>(dir_ / file, token_bytes_, vocab_, fingerprint_);
      summary_.shards.push_back(file);
    }
    writer_->add_doc(ids);
    ++summary_.docs;
    summary_.tokens += ids.size();
    if (writer_->num_tokens() >= shard_tokens_) close_shard();
  }
  SplitSummary finish() {
    close_shard();
    return summary_;
  }

 private:
  void close_shard() {
    if (writer_) writer_->close();
    writer_.reset();
  }
  std::string name_;
  std::filesystem::path dir_;
  std::uint32_t token_bytes_, vocab_;
  Digest fingerprint_;
  std::uint64_t shard_tokens_;
  std::unique_ptr<ShardWriter> writer_;
  SplitSummary summary_;
};

void validate(const PrepareOptions& o) {
  if (o.val_fraction < 0 || o.test_fraction < 0 || o.val_fraction + o.test_fraction >= 1)
    throw Error(fmt::format("--val-fraction ({}) and --test-fraction ({}) must be >= 0 and sum to less than 1",
                            o.val_fraction, o.test_fraction));
  if (!o.val_inputs.empty() && o.val_fraction > 0)
    throw Error("--val-input gives the validation split; set --val-fraction 0 or drop --val-input");
  if (!o.test_inputs.empty() && o.test_fraction > 0)
    throw Error("--test-input gives the test split; set --test-fraction 0 or drop --test-input");
  if (o.shard_tokens < 1) throw Error("--shard-tokens must be at least 1");
  if (o.threads < 0) throw Error("--threads must be >= 0 (0 = all cores)");
}

}  // namespace

PrepareSummary prepare_data(const PrepareOptions& options) {
  validate(options);
  const auto start = std::chrono::steady_clock::now();
  const auto tok = load_tokenizer(options.tokenizer);
  const std::uint32_t token_bytes = token_bytes_for(options.dtype, tok->vocab_size());
  // Checked up front, before anything is tokenized: --input, then --val-input and --test-input.
  CorpusReader reader(options.inputs, options.corpus);
  std::unique_ptr<CorpusReader> val_reader, test_reader;
  if (!options.val_inputs.empty()) val_reader = std::make_unique<CorpusReader>(options.val_inputs, options.corpus);
  if (!options.test_inputs.empty()) test_reader = std::make_unique<CorpusReader>(options.test_inputs, options.corpus);
  StagingDir staging(options.out, options.overwrite);
  const Digest fingerprint = digest_from_hex(tok->fingerprint());
  const int threads = options.threads > 0 ? options.threads
                                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  const std::vector<std::string> split_names = {"train", "val", "test"};
  std::vector<SplitWriter> writers;
  for (const auto& name : split_names)
    writers.emplace_back(name, staging.path(), token_bytes, static_cast<std::uint32_t>(tok->vocab_size()),
                         fingerprint, options.shard_tokens);
  auto split_of = [&](std::uint64_t index) -> std::size_t {
    const double u = hash_unit(options.seed, index);
    if (u < options.test_fraction) return 2;
    if (u < options.test_fraction + options.val_fraction) return 1;
    return 0;
  };

  std::uint64_t total_bytes = reader.total_bytes(), done_bytes = 0;
  for (const auto* r : {val_reader.get(), test_reader.get()})
    if (r) total_bytes += r->total_bytes();
  Progress progress("tokenizing", total_bytes, "B");
  // Reads one corpus block by block (the next block is read while this one is
  // encoded) and hands example i to writers[assign(i)].
  auto consume = [&](CorpusReader& in, auto assign) {
    std::uint64_t next_index = 0;
    Block current = read_block(in, options.block_bytes, next_index);
    next_index += current.texts.size();
    while (!current.texts.empty()) {
      auto encoded = std::async(std::launch::async, [&] { return encode_block(*tok, current, threads); });
      Block following = read_block(in, options.block_bytes, next_index);
      next_index += following.texts.size();
      const auto ids = encoded.get();
      for (std::size_t i = 0; i < ids.size(); ++i)
        if (!ids[i].empty()) writers[assign(current.first_index + i)].add(ids[i]);
      progress.update(done_bytes + in.stats().bytes);
      current = std::move(following);
    }
    done_bytes += in.stats().bytes;
  };
  consume(reader, split_of);
  if (val_reader) consume(*val_reader, [](std::uint64_t) { return std::size_t{1}; });
  if (test_reader) consume(*test_reader, [](std::uint64_t) { return std::size_t{2}; });
  progress.finish();
  if (reader.stats().examples == 0) throw Error("the corpus is empty: no examples found in the input files");

  PrepareSummary summary;
  summary.corpus = reader.stats();
  for (const auto* r : {val_reader.get(), test_reader.get()}) {
    if (!r) continue;
    summary.corpus.examples += r->stats().examples;
    summary.corpus.bytes += r->stats().bytes;
    summary.corpus.invalid_utf8_repaired += r->stats().invalid_utf8_repaired;
    summary.corpus.invalid_utf8_skipped += r->stats().invalid_utf8_skipped;
  }
  summary.token_bytes = token_bytes;
  summary.threads = threads;
  nlohmann::ordered_json splits = nlohmann::ordered_json::object();
  for (std::size_t s = 0; s < writers.size(); ++s) {
    const SplitSummary split = writers[s].finish();
    if (split.docs == 0 && s > 0) continue;  // no empty val/test entries
    summary.splits[split_names[s]] = split;
    splits[split_names[s]] = {{"docs", split.docs}, {"tokens", split.tokens}, {"shards", split.shards}};
  }
  if (summary.splits["train"].docs == 0) throw Error("no documents went to the train split; lower --val-fraction");

  save_tokenizer(*tok, staging.path() / "tokenizer");
  auto names = [](const std::vector<std::filesystem::path>& files) {
    std::vector<std::string> out;
    for (const auto& f : files) out.push_back(f.string());
    return out;
  };
  const std::vector<std::string> inputs = names(options.inputs);
  const nlohmann::ordered_json meta = {
      {"format", "unmask-data"},
      {"version", 1},
      {"tokenizer",
       {{"type", tok->type()},
        {"fingerprint", tok->fingerprint()},
        {"vocab_size", tok->vocab_size()},
        {"special", special_tokens_to_json(tok->special())}}},
      {"token_dtype", token_bytes == 2 ? "uint16" : "uint32"},
      {"splits", splits},
      {"source",
       {{"inputs", inputs},
        {"val_inputs", names(options.val_inputs)},
        {"test_inputs", names(options.test_inputs)},
        {"seed", options.seed},
        {"val_fraction", options.val_fraction},
        {"test_fraction", options.test_fraction},
        {"examples", summary.corpus.examples},
        {"bytes", summary.corpus.bytes},
        {"invalid_utf8_repaired", summary.corpus.invalid_utf8_repaired},
        {"invalid_utf8_skipped", summary.corpus.invalid_utf8_skipped}}},
  };
  write_file_atomic(staging.path() / kDataMeta, meta.dump(2) + "\n");
  staging.commit();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace unmask
