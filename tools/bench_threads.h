// Multi-threaded workloads of `pprsim bench --threads`: what a trace replay cannot show, threads
// allocating at once and freeing what other threads allocated.
//
//   server      every thread allocates objects (mostly small, some up to 32 KiB, a few up to
//               512 KiB) and swaps each into a random slot of one shared table, freeing the
//               object it displaces, which another thread allocated as often as not
//   prodcons    producer threads allocate messages, consumer threads free them (pairs joined by
//               a bounded queue; one thread alone produces a batch, then consumes it)
//   falseshare  every thread keeps a few small objects and writes into them over and over: an
//               allocator that puts two threads' objects in one cache line makes them fight
//
// Each runs a fixed amount of work split among the threads (the same for every thread count),
// checks every object it frees (its first and last byte as written), and reports allocator
// calls and wall-clock seconds; the child process reports the growth of its peak resident set.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tools/native_replay.h"

namespace pprsim {

const std::vector<std::string>& thread_workload_names();

struct ThreadRun {
  bool ok = true;
  std::string failure;
  std::uint64_t calls = 0;  // malloc and free calls of one run
  std::vector<double> seconds;  // per repetition
};

// Runs workload `name` (one of thread_workload_names()) with `threads` threads `repetitions`
// times over allocator `a`.
ThreadRun run_thread_workload(std::string_view name, int threads, int repetitions, const MallocFunctions& a);

}  // namespace pprsim
