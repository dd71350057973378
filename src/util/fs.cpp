// Atomic file and directory output (temp name + rename).
#include "unmask/util/fs.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "unmask/util/error.h"

namespace unmask {

std::string read_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error("file not found: " + path.string());
  if (fs::is_directory(path, ec)) throw Error("expected a file but found a directory: " + path.string());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read " + path.string() + ": " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error("error while reading " + path.string());
  return buffer.str();
}

fs::path temp_sibling(const fs::path& path) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  std::ostringstream name;
  name << "." << path.filename().string() << ".tmp-" << ::getpid() << "-" << std::hex << (rng() & 0xffffff);
  return path.parent_path() / name.str();
}

void write_file_atomic(const fs::path& path, const std::string& content) {
  const fs::path tmp = temp_sibling(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot write " + path.string() + ": " + std::strerror(errno));
    errno = 0;
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();  // a full disk may only show here
    if (out.fail()) {
      const int err = errno;
      std::error_code ec;
      fs::remove(tmp, ec);
      throw Error("cannot write " + path.string() + ": " + (err ? std::strerror(err) : "write failed") +
                  " (disk full or over a file-size limit?); nothing was written");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error("cannot move " + tmp.string() + " to " + path.string() + ": " + ec.message());
  }
}

void require_readable_file(const fs::path& path, const std::string& what) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(what + " not found: " + path.string());
  if (!fs::is_regular_file(path, ec)) throw Error(what + " is not a regular file: " + path.string());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read " + what + " " + path.string() + ": " + std::strerror(errno));
}

StagingDir::StagingDir(fs::path final_path, bool overwrite)
    : final_(std::move(final_path)), overwrite_(overwrite) {
  if (final_.empty()) throw Error("output directory must not be empty");
  if (final_.filename().empty()) final_ = final_.parent_path();  // trailing slash
  std::error_code ec;
  if (fs::exists(final_, ec) && !overwrite_)
    throw Error("output " + final_.string() + " already exists (pass --overwrite to replace it)");
  const fs::path parent = final_.has_parent_path() ? final_.parent_path() : fs::path(".");
  fs::create_directories(parent, ec);
  if (ec) throw Error("cannot create directory " + parent.string() + ": " + ec.message());
  temp_ = temp_sibling(final_);
  fs::create_directory(temp_, ec);
  if (ec)
    throw Error("cannot create " + final_.string() + " (under the temporary name " + temp_.filename().string() +
                "): " + ec.message());
}

StagingDir::~StagingDir() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(temp_, ec);
}

void StagingDir::commit() {
  std::error_code ec;
  fs::path old;
  if (fs::exists(final_, ec)) {
    old = temp_sibling(final_);
    fs::rename(final_, old, ec);
    if (ec) throw Error("cannot replace " + final_.string() + ": " + ec.message());
  }
  fs::rename(temp_, final_, ec);
  if (ec) throw Error("cannot move " + temp_.string() + " to " + final_.string() + ": " + ec.message());
  committed_ = true;
  if (!old.empty()) fs::remove_all(old, ec);
}

}  // namespace unmask
