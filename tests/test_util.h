// Helpers shared by the test suites: temporary directories, the fortunes
// corpus, a tokenizer and prepared data trained once per test process, and a
// runner for the `unmask` binary. Torch-free and fmt-free (used by both suites).
#pragma once

#include <filesystem>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace unmask::test {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

void write_text(const fs::path& path, const std::string& content);
std::string read_text(const fs::path& path);

// The English text files of Debian's fortunes package (records split by '%').
std::vector<fs::path> fortune_files();

// A unigram tokenizer (vocab 2000, byte fallback, lossless) trained on the
// fortunes once per process, and the fortunes prepared with it (docs format,
// '%' separators, 5 % validation).
const fs::path& fortune_tokenizer();
const fs::path& fortune_data();
// HF WordPiece tokenizers trained on the fortunes by HF `tokenizers`, with its
// ids for every corpus line and the Unicode edge cases
// (tests/fixtures/make_wordpiece_fixtures.py, run with UNMASK_PYTHON).
const fs::path& wordpiece_fixtures();
// Byte-level BPE tokenizers (GPT-2 and RoBERTa style) trained on the fortunes
// by HF `tokenizers`, with its ids and decodings for every corpus line and
// the Unicode edge cases (tests/fixtures/make_bpe_fixtures.py).
const fs::path& bpe_fixtures();
// Tiny random HF models (bert, bert_f16, bert_bf16, roberta, gpt2, mdlm) with
// tokenizers and transformers' logits on fixed inputs (NAME_io.safetensors),
// from tests/fixtures/make_hf_fixtures.py.
const fs::path& hf_fixtures();
// mauve-text on feature arrays and the tiny GPT-2's features (make_mauve_fixtures.py).
const fs::path& mauve_fixtures();

struct RunResult {
  int code;
  std::string out, err;
};
// Runs the unmask binary with `args` (shell-quoted here), stdin from `input`.
RunResult run_unmask(const std::vector<std::string>& args, const std::string& input = "");
RunResult run_command(const std::string& command_line);

// Starts the unmask binary in the background (stdout/stderr to files in
// `log_dir`), with extra environment variables "NAME=value".
struct Child {
  int pid = -1;
  int wait();                          // exit code (128 + signal if killed)
  void signal(int sig) const;
};
Child spawn_unmask(const std::vector<std::string>& args, const fs::path& log_dir,
                   const std::vector<std::string>& env = {});
// Polls `ready` every 20 ms for up to `seconds`; false on timeout.
bool wait_until(const std::function<bool()>& ready, double seconds);

// The message of the unmask::Error that `f` throws, or "" if it throws none.
std::string error_of(const std::function<void()>& f);

// step → loss of the lines of one split ("train" or "val") of a run's metrics.jsonl.
std::map<std::int64_t, double> logged_losses(const fs::path& run, const std::string& split);

// Every file below `dir` (recursive), relative; for "nothing partial left" checks.
std::vector<std::string> list_tree(const fs::path& dir);

}  // namespace unmask::test
