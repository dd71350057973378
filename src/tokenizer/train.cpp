// SentencePiece training from our corpus reader (SentencePieceTrainer with a
// SentenceIterator), written atomically as a tokenizer directory.
#include "unmask/tokenizer/train.h"

#include <fmt/format.h>
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "unmask/tokenizer/tokenizer.h"
#include "unmask/util/error.h"
#include "unmask/util/fs.h"
#include "unmask/util/hash.h"
#include "unmask/util/progress.h"

namespace unmask {
namespace {

constexpr std::size_t kMaxSentenceBytes = 16384;

// Feeds examples to the trainer. Examples longer than the trainer's sentence
// limit are cut at line breaks (then hard) so that no text is silently dropped.
class ExampleIterator : public sentencepiece::SentenceIterator {
 public:
  ExampleIterator(CorpusReader& reader, Progress& progress) : reader_(reader), progress_(progress) { Next(); }
  bool done() const override { return done_; }
  const std::string& value() const override { return value_; }
  sentencepiece::util::Status status() const override { return status_; }
  std::uint64_t sentences() const { return sentences_; }
  const std::string& error() const { return error_; }

  void Next() override {
    try {
      while (pieces_.empty()) {
        std::string text;
        if (!reader_.next(text)) {
          done_ = true;
          return;
        }
        split(text);
        progress_.update(reader_.stats().bytes);
      }
      value_ = std::move(pieces_.back());
      pieces_.pop_back();
      ++sentences_;
    } catch (const Error& e) {
      // The trainer sees an error status; the message is rethrown afterwards.
      error_ = e.what();
      status_ = sentencepiece::util::Status(sentencepiece::util::StatusCode::kInternal, error_);
      done_ = true;
    }
  }

 private:
  void split(const std::string& text) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t len = std::min(kMaxSentenceBytes, text.size() - pos);
      if (pos + len < text.size()) {
        const auto nl = text.rfind('\n', pos + len);
        if (nl != std::string::npos && nl > pos) len = nl - pos + 1;
        // Never cut inside a UTF-8 sequence.
        while (len > 1 && (static_cast<unsigned char>(text[pos + len]) & 0xC0) == 0x80) --len;
      }
      out.push_back(text.substr(pos, len));
      pos += len;
    }
    pieces_.assign(out.rbegin(), out.rend());
  }

  CorpusReader& reader_;
  Progress& progress_;
  std::vector<std::string> pieces_;
  std::string value_, error_;
  bool done_ = false;
  std::uint64_t sentences_ = 0;
  sentencepiece::util::Status status_;
};

void validate(const TokenizerTrainOptions& o) {
  if (o.model_type != "unigram" && o.model_type != "bpe")
    throw Error("unknown --model-type '" + o.model_type + "' (valid: unigram, bpe)");
  static const std::vector<std::string> norms = {"identity", "nfkc", "nmt_nfkc", "nfkc_cf", "nmt_nfkc_cf"};
  if (std::find(norms.begin(), norms.end(), o.normalization) == norms.end())
    throw Error("unknown --normalization '" + o.normalization + "' (valid: identity, nfkc, nmt_nfkc, nfkc_cf, nmt_nfkc_cf)");
  const int reserved = 5 + (o.byte_fallback ? 256 : 0);
  if (o.vocab_size <= reserved)
    throw Error(fmt::format("--vocab-size {} is too small: {} ids are taken by special tokens{}; use at least {}",
                            o.vocab_size, reserved, o.byte_fallback ? " and the 256 byte pieces" : "",
                            reserved + 100));
  if (o.vocab_size > (1 << 24)) throw Error("--vocab-size must be at most 16777216");
  if (o.character_coverage <= 0 || o.character_coverage > 1)
    throw Error("--character-coverage must be in (0, 1]");
  if (o.max_sentences < 1) throw Error("--max-sentences must be at least 1");
}

}  // namespace

TokenizerTrainSummary train_tokenizer(const TokenizerTrainOptions& options) {
  validate(options);
  CorpusReader reader(options.inputs, options.corpus);
  StagingDir staging(options.out, options.overwrite);

  const int threads = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::unordered_map<std::string, std::string> args = {
      {"model_prefix", (staging.path() / "tokenizer").string()},
      {"model_type", options.model_type},
      {"vocab_size", std::to_string(options.vocab_size)},
      {"byte_fallback", options.byte_fallback ? "true" : "false"},
      {"character_coverage", fmt::format("{}", options.character_coverage)},
      {"normalization_rule_name", options.normalization},
      {"remove_extra_whitespaces", options.normalization == "identity" ? "false" : "true"},
      {"input_sentence_size", std::to_string(options.max_sentences)},
      {"shuffle_input_sentence", "true"},
      {"max_sentence_length", std::to_string(kMaxSentenceBytes)},
      {"num_threads", std::to_string(threads)},
      {"pad_id", "0"}, {"unk_id", "1"}, {"bos_id", "2"}, {"eos_id", "3"},
      {"pad_piece", "[PAD]"}, {"unk_piece", "[UNK]"}, {"bos_piece", "[BOS]"}, {"eos_piece", "[EOS]"},
      {"control_symbols", "[MASK]"},
      {"unk_surface", "\xE2\x81\x87"},
      {"minloglevel", options.verbose ? "0" : "2"},
  };

  // Reservoir sampling of sentences draws from SentencePiece's global generator.
  sentencepiece::SetRandomGeneratorSeed(static_cast<unsigned int>(options.seed));
  Progress progress("reading corpus", reader.total_bytes(), "B");
  ExampleIterator it(reader, progress);
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &it);
  progress.finish();
  if (!it.error().empty()) throw Error(it.error());
  if (reader.stats().examples == 0) throw Error("the corpus is empty: no examples found in the input files");
  if (!status.ok()) {
    std::string msg = status.error_message();
    // SentencePiece's two vocabulary-size failures need opposite remedies.
    if (msg.find("smaller than required_chars") != std::string::npos)
      msg += "; raise --vocab-size or lower --character-coverage";
    else if (msg.find("Vocabulary size") != std::string::npos)
      msg += "; lower --vocab-size or give more text";
    throw Error("tokenizer training failed: " + msg);
  }

  const Digest digest = sha256_file(staging.path() / "tokenizer.model");
  TokenizerTrainSummary summary;
  summary.fingerprint = to_hex(digest);
  summary.sentences = it.sentences();
  summary.corpus = reader.stats();
  summary.vocab_size = options.vocab_size;

  nlohmann::json inputs = nlohmann::json::array();
  for (const auto& f : options.inputs) inputs.push_back(f.string());
  nlohmann::ordered_json meta = {
      {"format", "unmask-tokenizer"},
      {"version", 1},
      {"type", "sentencepiece"},
      {"vocab_size", options.vocab_size},
      {"fingerprint", summary.fingerprint},
      {"special", special_tokens_to_json(SpecialTokens{})},
      {"training",
       {{"model_type", options.model_type},
        {"byte_fallback", options.byte_fallback},
        {"normalization", options.normalization},
        {"character_coverage", options.character_coverage},
        {"max_sentences", options.max_sentences},
        {"seed", options.seed},
        {"inputs", inputs},
        {"examples", summary.corpus.examples},
        {"sentences", summary.sentences},
        {"bytes", summary.corpus.bytes}}},
  };
  write_file_atomic(staging.path() / kTokenizerMeta, meta.dump(2) + "\n");
  // Check the result loads (special ids where we put them) before publishing it.
  load_tokenizer(staging.path());
  staging.commit();
  return summary;
}

}  // namespace unmask
