#include "traces/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

namespace pprsim {

namespace {
std::atomic<bool> g_stdout_closed{false};
}  // namespace

bool standard_output_closed() { return g_stdout_closed.load(); }

// A stream buffer over a file descriptor that remembers the first write error (errno).
class OutputFile::FdBuffer : public std::streambuf {
 public:
  // `standard_output`: a reader that closed the pipe (EPIPE) drops the text, not the command.
  FdBuffer(int fd, bool standard_output)
      : fd_(fd), standard_output_(standard_output), buf_(new char[kSize]) {
    setp(buf_.get(), buf_.get() + kSize);
  }

  int error() const { return errno_; }
  bool flush_all() { return drain() && errno_ == 0; }

 protected:
  int_type overflow(int_type ch) override {
    if (!drain()) return traits_type::eof();
    if (!traits_type::eq_int_type(ch, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(ch);
      pbump(1);
    }
    return traits_type::not_eof(ch);
  }
  int sync() override { return drain() ? 0 : -1; }

 private:
  static constexpr std::size_t kSize = 1 << 16;

  bool drain() {
    if (errno_ != 0) return false;
    const char* p = pbase();
    std::size_t left = static_cast<std::size_t>(pptr() - pbase());
    while (left > 0 && !dropping_) {
      const ssize_t n = ::write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EPIPE && standard_output_) {
        dropping_ = true;
        g_stdout_closed.store(true);
        break;
      }
      if (n <= 0) {
        errno_ = n < 0 ? errno : EIO;
        return false;
      }
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    setp(buf_.get(), buf_.get() + kSize);
    return true;
  }

  int fd_;
  bool standard_output_;
  bool dropping_ = false;
  std::unique_ptr<char[]> buf_;
  int errno_ = 0;
};

namespace {

// Where a dangling symbolic link points, followed to its end ("" when it loops).
std::string follow_dangling_link(std::string path) {
  for (int depth = 0; depth < 40; ++depth) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return path;
    std::error_code ec;
    const std::filesystem::path to = std::filesystem::read_symlink(path, ec);
    if (ec) return path;
    path = to.is_absolute() ? to.string()
                            : (std::filesystem::path(path).parent_path() / to).string();
  }
  return "";
}

mode_t current_umask() {
  const mode_t mask = ::umask(022);
  ::umask(mask);
  return mask;
}

}  // namespace

OutputFile::OutputFile(std::string path, const std::vector<std::string>& inputs)
    : path_(std::move(path)) {
  what_ = path_ == "-" ? "standard output" : path_;
  open(inputs);
  if (ok()) {
    buffer_ = std::make_unique<FdBuffer>(fd_, kind_ == Kind::StandardOutput);
    stream_ = std::make_unique<std::ostream>(buffer_.get());
  } else {
    // A stream that accepts and drops everything, so that callers may write before checking.
    stream_ = std::make_unique<std::ostream>(nullptr);
  }
}

OutputFile::~OutputFile() { discard(); }

bool OutputFile::fail(const std::string& message) {
  if (error_.empty()) error_ = message;
  return false;
}

void OutputFile::open(const std::vector<std::string>& inputs) {
  if (path_.empty()) {
    fail("no output file named (an empty path)");
    return;
  }
  if (path_ == "-") {
    kind_ = Kind::StandardOutput;
    // What the command printed before through the C and C++ streams goes first.
    std::cout.flush();
    std::fflush(stdout);
    fd_ = STDOUT_FILENO;
    struct stat out {};
    note_identity(::fstat(fd_, &out) == 0 ? &out : nullptr);
    return;
  }
  struct stat st {};
  const bool exists = ::stat(path_.c_str(), &st) == 0;
  if (!exists && errno != ENOENT) {
    fail(fmt_error("cannot write", errno));
    return;
  }
  note_identity(exists ? &st : nullptr);
  if (exists) {
    for (const std::string& in : inputs) {
      struct stat ist {};
      if (in != "-" && ::stat(in.c_str(), &ist) == 0 && ist.st_dev == st.st_dev &&
          ist.st_ino == st.st_ino) {
        fail(path_ + " is the same file as the input " + in + ": refusing to write over it");
        return;
      }
    }
    if (S_ISDIR(st.st_mode)) {
      fail("cannot write " + path_ + ": it is a directory");
      return;
    }
    if (S_ISSOCK(st.st_mode) || S_ISBLK(st.st_mode)) {
      fail("cannot write " + path_ + ": it is a " +
           (S_ISSOCK(st.st_mode) ? "socket" : "block device") +
           " (pprsim writes regular files, character devices, FIFOs and standard output)");
      return;
    }
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
      kind_ = Kind::InPlace;
      do {
        fd_ = ::open(path_.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
      } while (fd_ < 0 && errno == EINTR);
      if (fd_ < 0) fail(fmt_error("cannot write", errno));
      return;
    }
    if (!S_ISREG(st.st_mode)) {
      fail("cannot write " + path_ + ": not a regular file, character device or FIFO");
      return;
    }
    char* real = ::realpath(path_.c_str(), nullptr);
    if (real == nullptr) {
      fail(fmt_error("cannot write", errno));
      return;
    }
    target_ = real;
    std::free(real);
  } else {
    target_ = follow_dangling_link(path_);
    if (target_.empty()) {
      fail(fmt_error("cannot write", ELOOP));
      return;
    }
  }
  if (!exists) {
    // Where OUT will appear: the real path of its folder, and its name.
    const std::filesystem::path p(target_);
    const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
    char* real = ::realpath(dir.c_str(), nullptr);
    where_ = real != nullptr ? (std::filesystem::path(real) / p.filename()).string()
                             : std::filesystem::absolute(p).lexically_normal().string();
    std::free(real);
  }
  kind_ = Kind::Replaced;
  // The temporary file: beside the target (the rename is atomic within one file system),
  // named by mkstemp so two writers never share it, registered for removal on a signal in the
  // same step as it is made.
  std::string templ = target_ + ".XXXXXX.tmp";
  {
    CleanupSignalsBlocked blocked;
    fd_ = ::mkostemps(templ.data(), 4, O_CLOEXEC);
    if (fd_ < 0) {
      fail(fmt_error("cannot create a temporary file to write", errno));
      return;
    }
    temp_ = templ;
    guard_ = TempFileGuard(temp_);
  }
  if (exists) {
    // Keep who owns OUT and what it allows (the owner only when allowed: root, or no change).
    if (::fchown(fd_, st.st_uid, st.st_gid) != 0) {
    }
    ::fchmod(fd_, st.st_mode & 07777);
  } else {
    ::fchmod(fd_, 0666 & ~current_umask());
  }
}

void OutputFile::note_identity(const struct stat* st) {
  if (st == nullptr) return;
  has_inode_ = true;
  char_device_ = S_ISCHR(st->st_mode);
  dev_ = st->st_dev;
  ino_ = st->st_ino;
}

bool OutputFile::same_file(const OutputFile& other) const {
  if (kind_ == Kind::StandardOutput && other.kind_ == Kind::StandardOutput) return true;
  if (char_device_ || other.char_device_) return false;
  if (has_inode_ && other.has_inode_) return dev_ == other.dev_ && ino_ == other.ino_;
  return !has_inode_ && !other.has_inode_ && !where_.empty() && where_ == other.where_;
}

std::string OutputFile::fmt_error(const std::string& what, int err) const {
  return what + " " + what_ + ": " + std::strerror(err);
}

void OutputFile::discard() {
  if (done_) return;
  done_ = true;
  if (kind_ == Kind::Replaced) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!temp_.empty()) ::unlink(temp_.c_str());
    guard_.release();
  } else if (kind_ == Kind::InPlace && fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

bool OutputFile::commit() {
  if (!ok()) return false;
  if (done_) return fail("cannot write " + what_ + ": already closed");
  stream_->exceptions(std::ios::goodbit);  // the error is reported below, not thrown
  stream_->clear();
  stream_->flush();
  if (!buffer_->flush_all()) {
    const int err = buffer_->error() != 0 ? buffer_->error() : EIO;
    discard();
    return fail(fmt_error("cannot write", err));
  }
  switch (kind_) {
    case Kind::StandardOutput:
      done_ = true;
      return true;
    case Kind::InPlace: {
      done_ = true;
      const int rc = ::close(fd_);
      fd_ = -1;
      return rc == 0 || errno == EINTR || fail(fmt_error("cannot write", errno));
    }
    case Kind::Replaced:
      break;
  }
  if (::fsync(fd_) != 0 && errno != EINVAL) {
    const int err = errno;
    discard();
    return fail(fmt_error("cannot write", err));
  }
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) {
    const int err = errno;
    discard();
    return fail(fmt_error("cannot write", err));
  }
  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    const int err = errno;
    discard();
    return fail(fmt_error("cannot write", err));
  }
  done_ = true;
  guard_.release();
  return true;
}

std::string write_output(const std::string& path, const std::string& text,
                         const std::vector<std::string>& inputs) {
  OutputFile out(path, inputs);
  if (!out.ok()) return out.error();
  out.stream().write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out.commit()) return out.error();
  return "";
}

}  // namespace pprsim
