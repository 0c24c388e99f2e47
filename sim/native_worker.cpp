#include "sim/native_worker.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
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

// Moves `fd` to a descriptor above the ones a worker is given (kSocketFd and on), close-on-exec,
// so that posix_spawn's dup2 to those numbers never meets a descriptor of its own number.
int lift(int fd) {
  const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
  ::close(fd);
  return high;
}

// The most a reply may carry: a call's access log is far smaller, and a message beyond these
// sizes is the channel written over.
constexpr std::uint64_t kMaxSpans = std::uint64_t{1} << 24;
constexpr std::uint64_t kMaxPayload = std::uint64_t{1} << 36;

// Where a started worker finds its socket, its channel and the board (worker_main.cpp's usage).
constexpr int kSocketFd = 3;
constexpr int kChannelFd = 4;
constexpr int kBoardFd = 5;

}  // namespace

struct NativeWorker::Mapping {
  void* at = nullptr;
  std::size_t bytes = 0;
  Mapping(void* p, std::size_t n) : at(p), bytes(n) {}
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { ::munmap(at, bytes); }
};

struct NativeWorker::Shared {
  std::shared_ptr<Mapping> board_memory;
  wire::Board* board = nullptr;
  std::uint64_t next_id = 2;  // MAIN's worker is 1
};

NativeWorker::NativeWorker(int fd, int pid, bool child_of_pprsim, std::shared_ptr<Mapping> channel,
                           std::shared_ptr<Shared> shared, std::uint64_t id)
    : fd_(fd), pid_(pid), child_(child_of_pprsim), channel_(std::move(channel)), shared_(std::move(shared)), id_(id) {
  auto* control = static_cast<wire::ChannelControl*>(channel_->at);
  out_ = wire::RingWriter(&control->to_worker, wire::ring_to_worker(channel_->at), fd_);
  in_ = wire::RingReader(&control->to_pprsim, wire::ring_to_pprsim(channel_->at), fd_);
}

std::unique_ptr<NativeWorker> NativeWorker::start(const std::string& library) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    throw std::runtime_error("cannot make a socket for the native worker");
  }
  const int channel_fd = wire::make_shared_file("pprsim-channel", wire::kChannelBytes);
  const int board_fd = wire::make_shared_file("pprsim-board", wire::kBoardBytes);
  std::shared_ptr<Mapping> channel = channel_fd >= 0 ? map_file(channel_fd, wire::kChannelBytes) : nullptr;
  auto shared = std::make_shared<Shared>();
  shared->board_memory = board_fd >= 0 ? map_file(board_fd, wire::kBoardBytes) : nullptr;
  const int given[] = {lift(sv[1]), channel_fd >= 0 ? lift(channel_fd) : -1, board_fd >= 0 ? lift(board_fd) : -1};
  const auto close_given = [&] {
    for (const int fd : given) {
      if (fd >= 0) ::close(fd);
    }
  };
  if (channel == nullptr || shared->board_memory == nullptr || given[0] < 0 || given[1] < 0 || given[2] < 0) {
    close_given();
    ::close(sv[0]);
    throw std::runtime_error("cannot make the shared memory the native worker talks through");
  }
  shared->board = static_cast<wire::Board*>(shared->board_memory->at);
  const std::string program = worker_program();
  const std::string fd_text[] = {std::to_string(kSocketFd), std::to_string(kChannelFd), std::to_string(kBoardFd)};
  std::vector<char*> argv{const_cast<char*>(program.c_str()), const_cast<char*>(fd_text[0].c_str()),
                          const_cast<char*>(fd_text[1].c_str()), const_cast<char*>(fd_text[2].c_str()),
                          const_cast<char*>(library.c_str()), nullptr};
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, given[0], kSocketFd);
  ::posix_spawn_file_actions_adddup2(&actions, given[1], kChannelFd);
  ::posix_spawn_file_actions_adddup2(&actions, given[2], kBoardFd);
  pid_t pid = -1;
  const int err = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  close_given();
  if (err != 0) {
    ::close(sv[0]);
    throw std::runtime_error(fmt::format("cannot start the native worker {}: {}", program, std::strerror(err)));
  }
  return std::unique_ptr<NativeWorker>(new NativeWorker(sv[0], pid, true, std::move(channel), std::move(shared), 1));
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
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    throw AllocatorFailure("cannot make a socket for a forked worker");
  }
  const int channel_fd = wire::make_shared_file("pprsim-channel", wire::kChannelBytes);
  std::shared_ptr<Mapping> channel = channel_fd >= 0 ? map_file(channel_fd, wire::kChannelBytes) : nullptr;
  if (channel == nullptr) {
    if (channel_fd >= 0) ::close(channel_fd);
    ::close(sv[0]);
    ::close(sv[1]);
    throw AllocatorFailure("cannot make the shared memory a forked worker talks through");
  }
  const std::uint64_t id = shared_->next_id++;
  wire::Request r;
  r.op = wire::Op::Fork;
  r.a = id;
  send(r, nullptr, 0);
  // The descriptors follow on the socket, with a byte that is also a doorbell.
  const int pass[2] = {sv[1], channel_fd};
  char control[CMSG_SPACE(sizeof pass)] = {};
  char bell = 0;
  iovec iov{&bell, 1};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof pass);
  std::memcpy(CMSG_DATA(c), pass, sizeof pass);
  while (::sendmsg(fd_, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
  ::close(sv[1]);
  ::close(channel_fd);
  auto child = std::unique_ptr<NativeWorker>(new NativeWorker(sv[0], -1, false, std::move(channel), shared_, id));
  child->pid_ = static_cast<int>(await(call, nullptr).msg.result);
  return child;
}

NativeWorker::Reply NativeWorker::call(const char* call, const wire::Request& r, const void* payload,
                                       std::size_t payload_len, const SysHandler& sys) {
  if (dead_) throw AllocatorFailure(fmt::format("the allocator's worker process is gone ({})", call));
  send(r, payload, payload_len);
  return await(call, sys);
}

// The request just sent must be answered within the call time limit.
void NativeWorker::arm() {
  deadline_ms_ = call_time_limit() > 0 ? now_ms() + static_cast<std::int64_t>(std::ceil(call_time_limit() * 1000)) : 0;
}

NativeWorker::Reply NativeWorker::await(const char* call, const SysHandler& sys) {
  for (;;) {
    Reply rep;
    receive(call, &rep.msg, sizeof rep.msg);
    switch (rep.msg.kind) {
      case wire::Kind::Reply: {
        // The channel is memory the allocator could write over: sizes are checked before use.
        if (rep.msg.reads > kMaxSpans || rep.msg.writes > kMaxSpans || rep.msg.payload > kMaxPayload) malformed(call);
        rep.reads.resize(rep.msg.reads);
        rep.writes.resize(rep.msg.writes);
        receive(call, rep.reads.data(), rep.reads.size() * sizeof(wire::Span));
        receive(call, rep.writes.data(), rep.writes.size() * sizeof(wire::Span));
        std::uint64_t written = 0;
        for (const wire::Span& w : rep.writes) {
          if (w.len > rep.msg.payload - written) malformed(call);
          written += w.len;
        }
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
      default: malformed(call);
    }
  }
}

void NativeWorker::malformed(const char* call) {
  kill_now();
  throw AllocatorFailure(fmt::format(
      "the allocator's worker sent a malformed message in {} (the allocator may have written over its channel)", call));
}

std::int64_t NativeWorker::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void NativeWorker::receive(const char* call, void* to, std::size_t n) {
  in_.take(to, n, [&](auto&& ready, std::atomic<std::uint32_t>& asleep) {
    wire::wait_until(ready, asleep, [] { return true; }, [&] { sleep(call, ready); });
  });
}

// Waits (poll) for the worker's doorbell until the call's deadline. The end of the stream is the
// worker gone, which is news only if it left nothing to read (a crash report comes before it).
template <class Ready>
void NativeWorker::sleep(const char* call, Ready&& ready) {
  int wait = -1;
  if (deadline_ms_ != 0) {
    const std::int64_t left = deadline_ms_ - now_ms();
    if (left <= 0) hung(call);
    wait = static_cast<int>(std::min<std::int64_t>(left, 1 << 30));
  }
  pollfd pfd{fd_, POLLIN, 0};
  const int got = ::poll(&pfd, 1, wait);
  if (got == 0) hung(call);
  if (got < 0) {
    if (errno == EINTR) return;
    lost(call);
  }
  char bells[64];
  for (;;) {
    const ssize_t n = ::recv(fd_, bells, sizeof bells, MSG_DONTWAIT);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 && !ready()) lost(call);
    return;
  }
}

void NativeWorker::kill_now() {
  dead_ = true;
  if (pid_ > 0) ::kill(pid_, SIGKILL);
}

void NativeWorker::hung(const char* call) {
  kill_now();
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

void NativeWorker::send(const wire::Request& r, const void* payload, std::size_t payload_len) {
  shared_->board->active.store(id_, std::memory_order_relaxed);
  if (r.op != wire::Op::SysAnswer) arm();
  const auto room = [&](auto&& ready, std::atomic<std::uint32_t>& asleep) {
    wire::wait_until(ready, asleep, [] { return true; }, [&] { sleep("sending to the allocator's worker", ready); });
  };
  out_.put(&r, sizeof r, room);
  if (payload_len != 0) out_.put(payload, payload_len, room);
  out_.publish();
}

std::shared_ptr<NativeWorker::Mapping> NativeWorker::map_file(int fd, std::uint64_t bytes) {
  void* p = wire::map_shared_file(fd, bytes);
  return p != nullptr ? std::make_shared<Mapping>(p, static_cast<std::size_t>(bytes)) : nullptr;
}

}  // namespace pprsim
