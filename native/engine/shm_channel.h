// The bytes between pprsim and a native worker (sim/native_worker.cpp, native/engine/
// worker_main.cpp): two rings in a memory file both processes map, one per direction, so a
// call's round trip is a few stores and loads rather than four socket calls and their wake-ups.
// A profile of a native replay at group size 1 had 60% of all time in the kernel's socket code,
// and 0.6% in the allocator.
//
// Each ring is a byte stream, as the socket was: the writer copies in and publishes how far it
// got (`head`), the reader copies out and publishes how far it read (`tail`); a message larger
// than the ring passes in pieces. The socket stays for three things: the doorbell (one byte,
// sent only when the other end has said it sleeps), the descriptors a Fork hands over, and the
// end of the stream when a process goes away, which is how a crash or an exit is seen.
//
// Waiting: an end that expects news soon spins for at most kSpinNanos, then says it sleeps
// (`asleep`), looks once more and blocks on its socket. The writer publishes, then looks at
// `asleep`; with both orders sequentially consistent, one of the two sees the other, so no
// wake-up is lost. A worker spins for a request only while pprsim talks to it (`Board::active`),
// so the idle workers of a group leave the two processors to the one at work. Nothing that
// decides a result depends on how long a wait took.
#pragma once

#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "native/engine/spin_wait.h"

namespace pprsim::wire {

inline constexpr std::uint64_t kRingBytes = std::uint64_t{1} << 20;

struct RingControl {
  alignas(64) std::atomic<std::uint64_t> head;  // bytes ever written (the writer's)
  alignas(64) std::atomic<std::uint64_t> tail;  // bytes ever read (the reader's)
  alignas(64) std::atomic<std::uint32_t> reader_asleep;
  std::atomic<std::uint32_t> writer_asleep;
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "the rings are shared between processes");

// A channel's memory file: both rings' controls on the first page (a fresh file reads as zero,
// which is where they start), then the ring towards the worker, then the one towards pprsim.
struct ChannelControl {
  RingControl to_worker;
  RingControl to_pprsim;
};
inline constexpr std::uint64_t kControlBytes = 4096;
static_assert(sizeof(ChannelControl) <= kControlBytes);
inline constexpr std::uint64_t kChannelBytes = kControlBytes + 2 * kRingBytes;

inline unsigned char* ring_to_worker(void* channel) { return static_cast<unsigned char*>(channel) + kControlBytes; }
inline unsigned char* ring_to_pprsim(void* channel) { return ring_to_worker(channel) + kRingBytes; }

// One page every worker of a run maps (forked workers inherit it): which worker pprsim talks to.
struct Board {
  alignas(64) std::atomic<std::uint64_t> active;
};
inline constexpr std::uint64_t kBoardBytes = 4096;

// A new memory file of `bytes` (close-on-exec), or -1 when the system refuses.
inline int make_shared_file(const char* name, std::uint64_t bytes) {
  const int fd = ::memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) return -1;
  if (::ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Maps `bytes` of the memory file `fd` shared, or returns nullptr.
inline void* map_shared_file(int fd, std::uint64_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return p == MAP_FAILED ? nullptr : p;
}

// Wakes the other end of `fd`, if it is still there (async-signal-safe).
inline void ring_doorbell(int fd) {
  const char bell = 0;
  (void)::send(fd, &bell, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

// Returns once ready() holds: spins while spin() says news is near (at most kSpinNanos), then
// sets `asleep`, looks again and calls sleep() (which blocks on the socket, or throws or exits
// when the other end is gone) until it does.
template <class Ready, class Spin, class Sleep>
void wait_until(Ready&& ready, std::atomic<std::uint32_t>& asleep, Spin&& spin, Sleep&& sleep) {
  if (ready()) return;
  if (spin()) {
    const std::int64_t until = monotonic_nanos() + kSpinNanos;
    do {
      for (int i = 0; i < 16; ++i) cpu_relax();
      if (ready()) return;
    } while (spin() && monotonic_nanos() < until);
  }
  for (;;) {
    asleep.store(1);
    if (ready()) {
      asleep.store(0);
      return;
    }
    sleep();
  }
}

// The writing end of one ring.
class RingWriter {
 public:
  RingWriter() = default;
  RingWriter(RingControl* c, unsigned char* bytes, int doorbell)
      : c_(c), bytes_(bytes), fd_(doorbell), head_(c->head.load()) {}

  // Appends n bytes; when the ring is full, publishes and waits for room with
  // wait(ready, asleep) (a wait_until with this end's spin and sleep).
  template <class Wait>
  void put(const void* from, std::size_t n, Wait&& wait) {
    const auto* p = static_cast<const unsigned char*>(from);
    while (n > 0) {
      const std::uint64_t room = kRingBytes - (head_ - c_->tail.load(std::memory_order_acquire));
      if (room == 0) {
        publish();
        wait([&] { return head_ - c_->tail.load(std::memory_order_acquire) < kRingBytes; }, c_->writer_asleep);
        continue;
      }
      const std::uint64_t at = head_ % kRingBytes;
      const std::size_t step = static_cast<std::size_t>(std::min<std::uint64_t>({n, room, kRingBytes - at}));
      std::memcpy(bytes_ + at, p, step);
      head_ += step;
      p += step;
      n -= step;
    }
  }

  // Appends n bytes only if they fit now (a signal handler cannot wait); false if not.
  bool try_put(const void* from, std::size_t n) {
    if (kRingBytes - (head_ - c_->tail.load(std::memory_order_acquire)) < n) return false;
    put(from, n, [](auto&&, auto&) {});
    return true;
  }

  // Makes what put() appended visible and wakes the reader if it sleeps; true if it did.
  bool publish() {
    c_->head.store(head_);
    if (c_->reader_asleep.load() == 0 || c_->reader_asleep.exchange(0) == 0) return false;
    ring_doorbell(fd_);
    return true;
  }

 private:
  RingControl* c_ = nullptr;
  unsigned char* bytes_ = nullptr;
  int fd_ = -1;
  std::uint64_t head_ = 0;
};

// The reading end of one ring.
class RingReader {
 public:
  RingReader() = default;
  RingReader(RingControl* c, unsigned char* bytes, int doorbell)
      : c_(c), bytes_(bytes), fd_(doorbell), tail_(c->tail.load()) {}

  bool empty() const { return c_->head.load(std::memory_order_acquire) == tail_; }

  // Copies n bytes out, waiting with wait(ready, asleep) while the ring is empty.
  template <class Wait>
  void take(void* to, std::size_t n, Wait&& wait) {
    auto* p = static_cast<unsigned char*>(to);
    while (n > 0) {
      const std::uint64_t head = c_->head.load(std::memory_order_acquire);
      if (head == tail_) {
        wait([&] { return !empty(); }, c_->reader_asleep);
        continue;
      }
      const std::uint64_t at = tail_ % kRingBytes;
      const std::size_t step = static_cast<std::size_t>(std::min<std::uint64_t>({n, head - tail_, kRingBytes - at}));
      std::memcpy(p, bytes_ + at, step);
      tail_ += step;
      p += step;
      n -= step;
      c_->tail.store(tail_);
      if (c_->writer_asleep.load() != 0 && c_->writer_asleep.exchange(0) != 0) ring_doorbell(fd_);
    }
  }

 private:
  RingControl* c_ = nullptr;
  unsigned char* bytes_ = nullptr;
  int fd_ = -1;
  std::uint64_t tail_ = 0;
};

}  // namespace pprsim::wire
