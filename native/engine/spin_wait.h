// How an end of a native worker's channel spins before it sleeps (native/engine/shm_channel.h).
//
// One call is a round trip, and the answer usually comes within microseconds. Sleeping in the
// kernel for it costs more than the call: a profile of a native replay put 60% of all time in the
// wake-ups and context switches of the two processes (about 130 us per call), and a wake-up on
// the other processor of this project's 2-processor virtual machines takes about 30 us either
// way. Spinning keeps the waiting process on its processor for at most kSpinNanos, then it
// sleeps; nothing that decides a result depends on how long a wait took.
#pragma once

#include <time.h>

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

}  // namespace pprsim::wire
