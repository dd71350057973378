// File helpers with the "nothing partial is left behind" rule built in: every
// output is written under a temporary sibling name and renamed into place only
// when it is complete.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace unmask {

namespace fs = std::filesystem;

// Whole file as bytes; Error naming the path when it cannot be read.
std::string read_file(const fs::path& path);

// Writes `content` to `path` through a temporary sibling and a rename.
void write_file_atomic(const fs::path& path, const std::string& content);

// A temporary name next to `path` (same directory, so rename is atomic).
fs::path temp_sibling(const fs::path& path);

// Checks that every input exists, is a regular file and can be opened.
void require_readable_file(const fs::path& path, const std::string& what);

// A directory built under a temporary sibling name and renamed to its final
// name by commit(). If destroyed before commit() (an exception, a bad input),
// the temporary directory is removed. An existing final directory is an error
// unless `overwrite`, in which case it is replaced only at commit().
class StagingDir {
 public:
  StagingDir(fs::path final_path, bool overwrite);
  ~StagingDir();
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;

  const fs::path& path() const { return temp_; }          // write here
  const fs::path& final_path() const { return final_; }
  void commit();

 private:
  fs::path final_;
  fs::path temp_;
  bool overwrite_;
  bool committed_ = false;
};

}  // namespace unmask
