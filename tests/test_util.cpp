// Implementation of the shared test helpers.
#include "test_util.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <cstdlib>
#include <stdexcept>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "unmask/data/prepare.h"
#include "unmask/tokenizer/train.h"
#include "unmask/util/error.h"

namespace unmask::test {

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "unmask-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_text(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<fs::path> fortune_files() {
  const fs::path dir = "/usr/share/games/fortunes";
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const auto& p = entry.path();
    if (entry.is_regular_file() && !entry.is_symlink() && !p.has_extension()) files.push_back(p);
  }
  std::sort(files.begin(), files.end());
  if (files.empty())
    throw std::runtime_error("the fortunes corpus is missing from " + dir.string() +
                             " (scripts/setup.sh installs Debian's 'fortunes' package)");
  return files;
}

namespace {

const TempDir& shared_dir() {
  static const TempDir dir;
  return dir;
}

}  // namespace

// ctest prepares the fortunes fixtures once (tests/make_fixtures.sh) and
// passes their directory; a test binary run by hand builds its own.
fs::path ctest_fixture(const std::string& name) {
  const char* dir = std::getenv("UNMASK_TEST_FIXTURES");
  if (dir == nullptr || *dir == '\0') return {};
  const fs::path path = fs::path(dir) / name;
  if (!fs::exists(path)) throw std::runtime_error("UNMASK_TEST_FIXTURES is set but " + path.string() + " is missing");
  return path;
}

const fs::path& fortune_tokenizer() {
  static const fs::path path = [] {
    if (auto fixture = ctest_fixture("tokenizer"); !fixture.empty()) return fixture;
    TokenizerTrainOptions o;
    o.inputs = fortune_files();
    o.corpus.format = CorpusFormat::Docs;
    o.corpus.separator = DocSeparator::Percent;
    o.out = shared_dir() / "tokenizer";
    o.vocab_size = 2000;
    o.model_type = "unigram";
    train_tokenizer(o);
    return o.out;
  }();
  return path;
}

const fs::path& fortune_data() {
  static const fs::path path = [] {
    if (auto fixture = ctest_fixture("data"); !fixture.empty()) return fixture;
    PrepareOptions o;
    o.inputs = fortune_files();
    o.corpus.format = CorpusFormat::Docs;
    o.corpus.separator = DocSeparator::Percent;
    o.tokenizer = fortune_tokenizer();
    o.out = shared_dir() / "data";
    o.val_fraction = 0.05;
    o.shard_tokens = 200000;  // several shards, so shard boundaries are exercised
    prepare_data(o);
    return o.out;
  }();
  return path;
}

namespace {

// A directory of fixtures that a committed Python script generates: the one
// ctest's fixtures.fortunes step made, or a fresh one for this process.
fs::path python_fixtures(const char* name, const char* script) {
  if (auto fixture = ctest_fixture(name); !fixture.empty()) return fixture;
  const fs::path out = shared_dir() / name;
  const std::string cmd = std::string(UNMASK_PYTHON) + " " + UNMASK_SOURCE_DIR + "/tests/fixtures/" + script + " " +
                          out.string();
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
  return out;
}

}  // namespace

const fs::path& wordpiece_fixtures() {
  static const fs::path path = python_fixtures("wordpiece", "make_wordpiece_fixtures.py");
  return path;
}

const fs::path& hf_fixtures() {
  static const fs::path path = python_fixtures("hf", "make_hf_fixtures.py");
  return path;
}

const fs::path& mauve_fixtures() {
  hf_fixtures();  // its GPT-2 gives the reference features
  static const fs::path path = python_fixtures("mauve", "make_mauve_fixtures.py");
  return path;
}

const fs::path& bpe_fixtures() {
  static const fs::path path = python_fixtures("bpe", "make_bpe_fixtures.py");
  return path;
}

namespace {

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

RunResult run_command(const std::string& command_line) {
  const TempDir dir;
  const std::string cmd = command_line + " >" + quote((dir / "out").string()) + " 2>" + quote((dir / "err").string());
  const int status = std::system(cmd.c_str());
  RunResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_text(dir / "out");
  r.err = read_text(dir / "err");
  return r;
}

RunResult run_unmask(const std::vector<std::string>& args, const std::string& input) {
  const TempDir dir;
  write_text(dir / "stdin", input);
  std::string cmd = quote(UNMASK_BINARY);
  for (const auto& a : args) cmd += " " + quote(a);
  return run_command(cmd + " <" + quote((dir / "stdin").string()));
}

Child spawn_unmask(const std::vector<std::string>& args, const fs::path& log_dir, const std::vector<std::string>& env) {
  const std::string out = (log_dir / "child.out").string(), err = (log_dir / "child.err").string();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    if (!std::freopen(out.c_str(), "w", stdout) || !std::freopen(err.c_str(), "w", stderr)) ::_exit(120);
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(UNMASK_BINARY));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(UNMASK_BINARY, argv.data());
    ::_exit(121);
  }
  Child c;
  c.pid = pid;
  return c;
}

int Child::wait() {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void Child::signal(int sig) const { ::kill(pid, sig); }

bool wait_until(const std::function<bool()>& ready, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return ready();
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::map<std::int64_t, double> logged_losses(const fs::path& run, const std::string& split) {
  std::map<std::int64_t, double> out;
  std::istringstream in(read_text(run / "metrics.jsonl"));
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["split"] == split) out[j["step"].get<std::int64_t>()] = j["loss"].get<double>();
  }
  return out;
}

std::vector<std::string> list_tree(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) out.push_back(fs::relative(e.path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace unmask::test
