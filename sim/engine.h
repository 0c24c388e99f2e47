// The engine: how a run's processes come to exist, run events and commit. The group runner
// (sim/group_run.h) and the sequential side of a replay reach processes only through it, so a
// second way of running the allocator slots in here without touching the oracle, the conflict
// check or the reports (docs/DESIGN.md section 3.11).
//
// What those read of a process is its Process record (sim/process.h): the memory image, the
// access log of a task, the object table, the system memory it holds, the allocator's census.
// The simulator's engine (make_sim_engine) runs the allocator on that record itself: a fork is a
// copy-on-write fork of the record, a commit copies the written bytes into MAIN. An engine that
// runs the allocator elsewhere (natively, in a worker process) keeps the same records as
// mirrors of what its processes read and wrote.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "sim/executor.h"
#include "sim/group.h"
#include "sim/process.h"
#include "sim/trace_cut.h"
#include "traces/event.h"

namespace pprsim {

class Engine {
 public:
  virtual ~Engine() = default;

  // MAIN: the committed process, where sequential code runs and groups commit.
  virtual Process& main() = 0;

  // Runs one event in `p` (MAIN or one of this engine's speculative processes), as the program
  // would (sim/executor.h). requires: the event's handle page is mapped in MAIN before the fork.
  virtual StepOutcome execute(Process& p, const Event& e) = 0;

  // Task k of the group that MAIN's group_init just carved, holding `instance` (fork_task).
  virtual Runner fork_task(int k, const Instance& instance) = 0;
  // The understudy of the group, holding every instance in order (fork_understudy).
  virtual std::unique_ptr<Runner> fork_understudy(const std::vector<Instance>& instances) = 0;

  // Tasks 0..m-1 commit into MAIN, then the allocator's merge (commit_tasks).
  // requires: 1 <= m <= tasks.size(); every task stopped.
  virtual CommitResult commit(std::vector<Runner>& tasks, std::size_t m) = 0;
  // MAIN takes over the understudy's heap, which won the race. requires: it finished.
  virtual void adopt_understudy(Runner& understudy) = 0;

  // The group's processes are done with (their pages shared with MAIN are let go, so MAIN's
  // writes after this copy nothing). Empties `tasks` and resets `understudy`.
  virtual void retire(std::vector<Runner>& tasks, std::unique_ptr<Runner>& understudy) = 0;
};

// The simulator: virtual processes over simulated memory, forked copy-on-write, with MAIN's
// system memory limited to `memory_limit` bytes and `slice_bytes` of address space per task.
std::unique_ptr<Engine> make_sim_engine(std::uint64_t memory_limit, std::uint64_t slice_bytes);

}  // namespace pprsim
