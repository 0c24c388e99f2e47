#include "traces/trace_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <istream>

#include "traces/reader_factories.h"
#include "traces/temp_files.h"

namespace pprsim {

// The copy of a trace that could be read only once: an unlinked file, read by offset, so that
// any number of readers share it without sharing a position.
class TraceSource::Spool {
 public:
  explicit Spool(const std::string& path);
  ~Spool() {
    if (fd_ >= 0) ::close(fd_);
  }
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  int fd() const { return fd_; }
  std::uint64_t size() const { return size_; }

 private:
  void copy_from(const std::string& path, const std::string& dir);
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

namespace {

std::string temp_dir() {
  const char* dir = std::getenv("TMPDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/tmp";
}

std::string errno_text(int err) { return std::strerror(err); }

// Reads the spool from its start through pread: its own position, the file's shared by all.
class SpoolBuffer : public std::streambuf {
 public:
  explicit SpoolBuffer(std::shared_ptr<const TraceSource::Spool> spool) : spool_(std::move(spool)) {}

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    ssize_t n;
    do {
      n = ::pread(spool_->fd(), buf_, sizeof buf_, offset_);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return traits_type::eof();  // an error reads as the end: the copy was checked
    offset_ += n;
    setg(buf_, buf_, buf_ + n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  std::shared_ptr<const TraceSource::Spool> spool_;
  off_t offset_ = 0;
  char buf_[1 << 16];
};

class SpoolStream : public std::istream {
 public:
  explicit SpoolStream(std::shared_ptr<const TraceSource::Spool> spool)
      : std::istream(nullptr), buffer_(std::move(spool)) {
    rdbuf(&buffer_);
  }

 private:
  SpoolBuffer buffer_;
};

}  // namespace

TraceSource::Spool::Spool(const std::string& path) {
  const std::string dir = temp_dir();
  std::string templ = dir + "/pprsim-trace.XXXXXX";
  {
    // Made and unlinked as one step for the signal handler: no moment leaves a file behind.
    CleanupSignalsBlocked blocked;
    fd_ = ::mkostemp(templ.data(), O_CLOEXEC);
    if (fd_ >= 0) ::unlink(templ.c_str());
  }
  if (fd_ < 0) {
    throw TraceError(path, 0, "cannot read it more than once: cannot create a temporary file in " + dir + ": " +
                                  errno_text(errno));
  }
  copy_from(path, dir);
}

void TraceSource::Spool::copy_from(const std::string& path, const std::string& dir) {
  int in;
  do {
    in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (in < 0 && errno == EINTR);
  if (in < 0) throw TraceError(path, 0, "cannot open: " + errno_text(errno));
  static constexpr std::size_t kChunk = 1 << 16;
  std::unique_ptr<char[]> buf(new char[kChunk]);
  for (;;) {
    const ssize_t n = ::read(in, buf.get(), kChunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(in);
      throw TraceError(path, 0, "cannot read: " + errno_text(err));
    }
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(fd_, buf.get() + done, static_cast<std::size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        const int err = w < 0 ? errno : EIO;
        ::close(in);
        throw TraceError(path, 0, "cannot read it more than once: cannot copy it to a temporary file in " + dir +
                                      ": " + errno_text(err));
      }
      done += w;
    }
    size_ += static_cast<std::uint64_t>(n);
  }
  ::close(in);
}

TraceSource::TraceSource(std::string path) : path_(std::move(path)) {
  struct stat st {};
  // What cannot be stat'ed, a directory and a regular file are left to open_trace() and its
  // messages; everything else is read once, here.
  if (::stat(path_.c_str(), &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) return;
  spool_ = std::make_shared<const Spool>(path_);
}

std::unique_ptr<TraceReader> TraceSource::open() const {
  if (!spool_) return open_trace(path_);
  return open_trace_stream(std::make_unique<SpoolStream>(spool_), path_, spool_->size());
}

}  // namespace pprsim
