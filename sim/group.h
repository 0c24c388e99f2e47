// The group protocol of a PPR group, as one piece that the replay and the tests drive: fork
// the tasks (and the understudy) from the parent, let them run, the BOP commit check that
// returns the cut and the conflicts, and the commit of the first m tasks into the parent.
// Who runs which event when (the seeded race) and what counts as a failed run stay with the
// driver (sim/replay.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/conflicts.h"
#include "sim/findings.h"
#include "sim/process.h"
#include "sim/trace_cut.h"
#include "traces/event.h"

namespace pprsim {


// One speculative process of a group (a task, or the understudy) and how far it got.
struct Runner {
  enum class State : std::uint8_t { Running, Finished, GaveUp, Stale, Crashed };
  std::unique_ptr<Process> proc;
  std::vector<const Event*> events;
  std::size_t next = 0;
  State state = State::Running;
  std::uint64_t weight = 1;  // relative speed in the interleaving
  TaskView view;
  int task = -1;  // spec_order; -1 for the understudy
};

// Task k of a group: a tracked fork of `parent` after task_init(k), holding instance k, its
// system memory confined to its own slice of address space (SystemMemory::task_slice).
// `into`: a recycled process to fork into (Process::recycle), or null.
// requires: parent.alloc->group_init succeeded; `instance` outlives the runner.
Runner fork_task(Process& parent, int k, const Instance& instance, std::unique_ptr<Process> into = nullptr);

// The understudy: an untracked fork after understudy_init, holding every instance in order.
std::unique_ptr<Runner> fork_understudy(Process& parent, const std::vector<Instance>& instances,
                                        std::unique_ptr<Process> into = nullptr);

// The cut, one rule in two readings. A task that gave up or crashed has no result: it and every
// later task never commit. A task that saw a stale object has a result to check (the
// read-after-write that made it stale is reported), and the check aborts it and every later one.
//  - group_cut: the tasks the commit check looks at: up to the first that gave up or crashed.
//  - running_cut: the tasks the race still waits for: up to the first that stopped early for
//    any reason (gave up, crashed, stale), since nothing after it can commit.
std::size_t group_cut(const std::vector<Runner>& tasks);
std::size_t running_cut(const std::vector<Runner>& tasks);

struct CommitVerdict {
  std::size_t commit = 0;             // tasks 0..commit-1 may commit
  std::vector<Conflict> conflicts;    // in the order found: task pairs in spec order, addresses
  bool main_stale = false;            // task 0 saw a stale object: trace and heap disagree
  Findings findings;                  // a stale task without a read-after-write (unexplained)
};

// The BOP commit check: task k passes if it read nothing tasks 0..k-1 wrote; the first that
// fails, and every later one, is aborted. requires: every task stopped; `at_fork` is the
// parent's objects by address at the fork.
CommitVerdict commit_check(int group, std::vector<Runner>& tasks, const ForkObjects& at_fork);

struct CommitResult {
  std::uint64_t adopted_bytes = 0;    // system memory the committed tasks obtained, now the parent's
  Findings findings;                  // a region a task obtained outside its slice
};

// The memory part of a commit: tasks 0..m-1's system-memory changes, written bytes and object
// changes, into `parent` in spec order (what commit_tasks does before the allocator's merge).
CommitResult commit_memory(Process& parent, std::vector<Runner>& tasks, std::size_t m);

// Commits tasks 0..m-1 into `parent` in spec order (system-memory changes: what a task obtained
// in its slice is adopted whole, what it released is released; written bytes; object changes),
// then the allocator state of task m-1 with the allocator's merge. The cost is what the tasks
// changed, not the parent's heap. requires: 1 <= m <= tasks.size(); the tasks come from
// fork_task.
CommitResult commit_tasks(Process& parent, std::vector<Runner>& tasks, std::size_t m);

// The allocators of the tasks, for merge and learn.
std::vector<const SimAllocator*> task_allocators(const std::vector<Runner>& tasks);

}  // namespace pprsim
