// An exclusive lock on a run directory, so that two trainers never write the
// same checkpoints: RUN/lock is held with flock(2) for the life of the object
// and records the holder's pid and host. The kernel drops the lock when the
// process ends, however it ends (SIGKILL included), so a stale file never
// blocks a resume.
#pragma once

#include <filesystem>

namespace unmask {

class RunLock {
 public:
  // Error naming the directory and the holder when another process has it.
  explicit RunLock(const std::filesystem::path& run_dir);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace unmask
