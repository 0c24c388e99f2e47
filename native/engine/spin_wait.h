// Waiting for the other end of a native worker's socket (sim/native_worker.cpp, the worker's
// native/engine/worker_main.cpp): a short spin on a non-blocking receive before sleeping.
//
// One call is a round trip, and the answer usually comes within tens of microseconds. Sleeping
// in the kernel for it cost more than the call: a profile of a native replay put 60% of all
// time in the wake-ups and context switches of the two processes (about 130 us per call).
// Spinning keeps the waiting process on its CPU for at most kSpinNanos, then it sleeps as before;
// nothing that decides a result depends on how long a wait took.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <cerrno>
#include <cstdint>

namespace pprsim::wire {

inline constexpr std::int64_t kSpinNanos = 100'000;

// A hint to the processor that this is a spin (x86 `pause`, arm `yield`; nothing elsewhere).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield");
#endif
}

inline std::int64_t monotonic_nanos() {
  timespec t{};
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

// Calls `receive` (a non-blocking receive: bytes, 0 at the end of the stream, or -1 with errno)
// until it returns anything but "would block" or kSpinNanos have passed; returns its last result.
// On -1 with EAGAIN the caller goes on to wait the blocking way.
template <class Receive>
ssize_t spin_receive(Receive&& receive) {
  const std::int64_t until = monotonic_nanos() + kSpinNanos;
  for (;;) {
    const ssize_t got = receive();
    if (got >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return got;
    if (monotonic_nanos() >= until) return got;
    for (int i = 0; i < 16; ++i) cpu_relax();
  }
}

}  // namespace pprsim::wire
