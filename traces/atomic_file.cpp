#include "traces/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace pprsim {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  // A name of our own beside the target (same file system, so the rename is atomic), created
  // exclusively so that two writers never share it.
  for (int attempt = 0;; ++attempt) {
    temp_ = path_ + "." + std::to_string(::getpid()) + "." + std::to_string(attempt) + ".tmp";
    const int fd = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      ::close(fd);
      break;
    }
    if (errno != EEXIST || attempt == 100) {
      error_ = std::string("cannot create ") + temp_ + ": " + std::strerror(errno);
      temp_.clear();
      done_ = true;
      return;
    }
  }
  out_.open(temp_, std::ios::binary | std::ios::trunc);
  if (!out_) {
    error_ = "cannot open " + temp_;
    discard();
  }
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() {
  if (done_) return;
  done_ = true;
  out_.close();
  std::remove(temp_.c_str());
}

bool AtomicFile::commit() {
  if (done_) return false;
  out_.flush();
  const bool written = static_cast<bool>(out_);
  out_.close();
  if (!written || out_.fail()) {
    error_ = "cannot write " + path_;
    discard();
    return false;
  }
  if (std::rename(temp_.c_str(), path_.c_str()) != 0) {
    error_ = "cannot write " + path_ + ": " + std::strerror(errno);
    discard();
    return false;
  }
  done_ = true;
  return true;
}

}  // namespace pprsim
