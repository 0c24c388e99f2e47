#include "sim/native_worker.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "native/engine/spin_wait.h"
#include "sim/call_guard.h"

extern char** environ;

namespace pprsim {

namespace {

// The worker program: $PPRSIM_NATIVE_WORKER, else the one built beside pprsim, else one next to
// the running executable (an installed pprsim).
std::string worker_program() {
  if (const char* env = std::getenv("PPRSIM_NATIVE_WORKER"); env != nullptr && *env != '\0') return env;
#ifdef PPRSIM_NATIVE_WORKER_PATH
  if (::access(PPRSIM_NATIVE_WORKER_PATH, X_OK) == 0) return PPRSIM_NATIVE_WORKER_PATH;
#endif
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string dir(self, static_cast<std::size_t>(n));
    dir.resize(dir.rfind('/') + 1);
    return dir + "pprsim_native_worker";
  }
  return "pprsim_native_worker";
}

void write_exact(int fd, const void* from, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(from);
  while (n > 0) {
    const ssize_t put = ::send(fd, p, n, MSG_NOSIGNAL);
    if (put < 0) {
      if (errno == EINTR) continue;
      return;  // the worker is gone: the next receive says how
    }
    p += put;
    n -= static_cast<std::size_t>(put);
  }
}

}  // namespace

std::unique_ptr<NativeWorker> NativeWorker::start(const std::string& library) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) throw std::runtime_error("cannot make a socket for the native worker");
  ::fcntl(sv[0], F_SETFD, FD_CLOEXEC);
  const std::string program = worker_program();
  const std::string fd_text = std::to_string(sv[1]);
  std::vector<char*> argv{const_cast<char*>(program.c_str()), const_cast<char*>(fd_text.c_str()),
                          const_cast<char*>(library.c_str()), nullptr};
  pid_t pid = -1;
  const int err = ::posix_spawn(&pid, program.c_str(), nullptr, nullptr, argv.data(), environ);
  ::close(sv[1]);
  if (err != 0) {
    ::close(sv[0]);
    throw std::runtime_error(fmt::format("cannot start the native worker {}: {}", program, std::strerror(err)));
  }
  return std::unique_ptr<NativeWorker>(new NativeWorker(sv[0], pid, true));
}

NativeWorker::~NativeWorker() {
  // A hung worker was killed when it was found hung, a crashed one is dying of its signal; any
  // other reads the end of its socket and exits. (No kill here: a forked worker is reaped by its
  // parent worker as soon as it ends, and its number may then be another process's.)
  ::close(fd_);
  if (child_) {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

std::unique_ptr<NativeWorker> NativeWorker::fork(const char* call) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) throw AllocatorFailure("cannot make a socket for a forked worker");
  ::fcntl(sv[0], F_SETFD, FD_CLOEXEC);
  wire::Request r;
  r.op = wire::Op::Fork;
  send(r, nullptr, 0, sv[1]);
  ::close(sv[1]);
  auto child = std::unique_ptr<NativeWorker>(new NativeWorker(sv[0], -1, false));
  child->pid_ = static_cast<int>(await(call, nullptr).msg.result);
  return child;
}

NativeWorker::Reply NativeWorker::call(const char* call, const wire::Request& r, const void* payload,
                                       std::size_t payload_len, const SysHandler& sys) {
  if (dead_) throw AllocatorFailure(fmt::format("the allocator's worker process is gone ({})", call));
  send(r, payload, payload_len);
  return await(call, sys);
}

NativeWorker::Reply NativeWorker::await(const char* call, const SysHandler& sys) {
  deadline_ms_ = call_time_limit() > 0 ? now_ms() + static_cast<std::int64_t>(std::ceil(call_time_limit() * 1000)) : 0;
  for (;;) {
    Reply rep;
    receive(call, &rep.msg, sizeof rep.msg);
    switch (rep.msg.kind) {
      case wire::Kind::Reply: {
        rep.reads.resize(rep.msg.reads);
        rep.writes.resize(rep.msg.writes);
        receive(call, rep.reads.data(), rep.reads.size() * sizeof(wire::Span));
        receive(call, rep.writes.data(), rep.writes.size() * sizeof(wire::Span));
        std::uint64_t written = 0;
        for (const wire::Span& w : rep.writes) written += w.len;
        if (written > rep.msg.payload) lost(call);
        rep.data.resize(written);
        rep.extra.resize(rep.msg.payload - written);
        receive(call, rep.data.data(), rep.data.size());
        receive(call, rep.extra.data(), rep.extra.size());
        return rep;
      }
      case wire::Kind::SysAlloc:
      case wire::Kind::SysAllocShared:
      case wire::Kind::SysFree: {
        wire::Request answer;
        answer.op = wire::Op::SysAnswer;
        answer.a = sys ? sys(rep.msg) : 0;
        send(answer, nullptr, 0);
        break;
      }
      case wire::Kind::Crash: {
        dead_ = true;
        const int sig = static_cast<int>(rep.msg.a);
        const std::uintptr_t at = rep.msg.b == ~std::uint64_t{0} ? AllocatorCrash::kNoAddress : rep.msg.b;
        throw AllocatorCrash(call, sig, at, call_time_limit());
      }
      default: lost(call);
    }
  }
}

std::int64_t NativeWorker::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void NativeWorker::receive(const char* call, void* to, std::size_t n) {
  auto* p = static_cast<unsigned char*>(to);
  while (n > 0) {
    if (in_pos_ == in_len_) fill(call);
    const std::size_t take = std::min(n, in_len_ - in_pos_);
    std::memcpy(p, inbuf_.data() + in_pos_, take);
    in_pos_ += take;
    p += take;
    n -= take;
  }
}

// Reads what the worker has sent, at most a buffer's worth: a reply usually arrives whole, so one
// read serves its header, its spans and its bytes. Waits (poll) only when nothing came within a
// short spin (native/engine/spin_wait.h).
void NativeWorker::fill(const char* call) {
  if (inbuf_.empty()) inbuf_.resize(std::size_t{1} << 16);
  in_pos_ = in_len_ = 0;
  for (bool spun = false;; spun = true) {
    const auto receive = [&] { return ::recv(fd_, inbuf_.data(), inbuf_.size(), MSG_DONTWAIT); };
    const ssize_t got = spun ? receive() : wire::spin_receive(receive);
    if (got > 0) {
      in_len_ = static_cast<std::size_t>(got);
      return;
    }
    if (got == 0) lost(call);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) lost(call);
    int wait = -1;
    if (deadline_ms_ != 0) {
      const std::int64_t left = deadline_ms_ - now_ms();
      if (left <= 0) hung(call);
      wait = static_cast<int>(std::min<std::int64_t>(left, 1 << 30));
    }
    pollfd pfd{fd_, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, wait);
    if (ready == 0) hung(call);
    if (ready < 0 && errno != EINTR) lost(call);
  }
}

void NativeWorker::hung(const char* call) {
  dead_ = true;
  if (pid_ > 0) ::kill(pid_, SIGKILL);
  throw AllocatorCrash(call, 0, AllocatorCrash::kNoAddress, call_time_limit());
}

void NativeWorker::lost(const char* call) {
  dead_ = true;
  if (child_) {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    child_ = false;
    pid_ = -1;
    if (WIFSIGNALED(status)) throw AllocatorCrash(call, WTERMSIG(status), AllocatorCrash::kNoAddress, call_time_limit());
    if (WIFEXITED(status)) {
      throw AllocatorFailure(fmt::format("the allocator's worker process exited with status {} in {}", WEXITSTATUS(status), call));
    }
  }
  throw AllocatorFailure(fmt::format("the allocator's worker process ended without a word in {}", call));
}

void NativeWorker::send(const wire::Request& r, const void* payload, std::size_t payload_len, int pass_fd) {
  if (pass_fd >= 0) {
    char control[CMSG_SPACE(sizeof(int))] = {};
    iovec iov{const_cast<wire::Request*>(&r), sizeof r};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
    if (::sendmsg(fd_, &msg, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof r)) return;
  } else {
    write_exact(fd_, &r, sizeof r);
  }
  if (payload_len != 0) write_exact(fd_, payload, payload_len);
}

}  // namespace pprsim
