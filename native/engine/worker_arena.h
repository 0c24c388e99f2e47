// The allocator's heap in a native worker (native/engine/worker_main.cpp): the regions pprsim
// places in the arena (wire::kArenaBase), mapped at their addresses.
//
// MAIN's regions are pages of one memory file (memfd) mapped shared, at the file offset of their
// distance from the arena's base. A fork copies no page tables for shared file pages, so forking
// a task costs the same over a 1 MiB and a 256 MiB heap; the forked worker then maps the same
// pages private (copy on write) before it does anything else, so that what it writes stays its
// own, as a forked process's memory does. With anonymous memory instead, fork copied the page
// tables of the whole resident heap for every task (48.8 ms a group of 8 over 1.2 MiB against
// 196 ms over 256 MiB, tools/group_cost.py).
//
// Every process but MAIN has private regions: a task's or the understudy's, and every region a
// task maps in its own slice (anonymous memory). When the understudy's result survives, its
// worker becomes MAIN (adopt): its regions' bytes go into a new file, mapped shared from then on.
// Without a memory file (memfd_create refused) every region is anonymous, as forks had them.
#pragma once

#include <cstdint>
#include <map>

namespace pprsim {

class WorkerArena {
 public:
  // Creates the memory file; this process (the first worker) is MAIN.
  void open();
  // Maps [a, a + n) (page multiples, inside the arena) zero-filled. `replace`: the range may hold
  // a mapping pprsim knows to be stale (a region adopted at commit), else it must be free.
  // False when the system refuses.
  bool map(std::uint64_t a, std::uint64_t n, bool replace);
  // Unmaps [a, a + n); MAIN also gives the file's pages back, so the range reads as zero when
  // it is mapped again.
  void unmap(std::uint64_t a, std::uint64_t n);
  // In a forked worker, first thing: its regions become private copies of the file's pages.
  // False when the system refuses (the worker cannot go on then).
  bool detach_after_fork();
  // This worker becomes MAIN: its regions' bytes go into a new memory file, mapped shared.
  // False when the system refuses.
  bool adopt();

 private:
  int fd_ = -1;
  bool shared_ = false;  // this process's regions are the file's pages, mapped shared
  std::map<std::uint64_t, std::uint64_t> regions_;  // start -> end, disjoint, adjacent ones merged
};

}  // namespace pprsim
