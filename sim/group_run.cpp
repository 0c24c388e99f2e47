#include "sim/group_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "sim/executor.h"
#include "sim/sim_allocator.h"

namespace pprsim {

namespace {

// Problems kept of regions taken outside a slice (they are all counted).
constexpr std::size_t kMaxOutsideSliceProblems = 20;

std::uint32_t first_line(const std::vector<Instance>& instances) {
  for (const Instance& in : instances) {
    if (!in.empty()) return in.front().line;
  }
  return 0;
}

void run_serially(RunContext& run, const std::vector<Instance>& instances, std::size_t from) {
  for (std::size_t k = from; k < instances.size(); ++k) {
    ++run.st.reexecuted_instances;
    for (const Event& e : instances[k]) run.run_seq(e);
  }
}

// The group runs in MAIN without speculation (the fork failed, or the carve was refused for a
// single instance).
void run_group_serially(RunContext& run, const std::vector<Instance>& instances) {
  run.in_group = static_cast<std::int64_t>(run.st.groups++);
  ++run.st.serial_groups;
  run_serially(run, instances, 0);
  if (run.searching()) run.look_for_lost(fmt::format("in group {}, run serially", run.st.groups - 1));
  run.recorder.serial_group(run.st.groups - 1, instances, run.main());
  run.finish_group(instances);
}

// One event of a speculative process, chosen by the race.
void step(RunContext& run, Runner& r, bool in_task) {
  if (r.next == r.events.size()) {
    r.state = Runner::State::Finished;
    return;
  }
  if (in_task && run.inject(run.cfg.faults.task_abort)) {
    ++run.st.injected_aborts;
    r.state = Runner::State::GaveUp;
    return;
  }
  const Event& e = *r.events[r.next++];
  const Actor who = in_task ? Actor::of_task(r.task) : Actor::understudy();
  run.where = {{}, e.line, who, e.op};
  StepOutcome out;
  run.for_group = in_task;
  try {
    out = run.engine->execute(*r.proc, e);
  } catch (const MemoryFault&) {
    run.for_group = false;
    if (!in_task) throw;
    r.state = Runner::State::Crashed;
    return;
  }
  run.for_group = false;
  if (is_allocator_op(e.op)) run.verify_allocator(*r.proc, call_name(e.op), e.line, who);
  switch (out.status) {
    case StepStatus::Done:
      if (in_task && (e.op == Op::Malloc || e.op == Op::Calloc || e.op == Op::Memalign || e.op == Op::Realloc)) {
        // Every incarnation and every size the task gave an object, for the conflict report.
        if (const Object* o = r.proc->objects.find(e.id)) r.view.created.emplace_back(e.id, *o);
      }
      if (r.next == r.events.size()) r.state = Runner::State::Finished;
      break;
    case StepStatus::GaveUp:
      if (!in_task) {
        throw RunFailure{fmt::format("the understudy's allocator gave up at line {}", e.line), StopKind::RequestFailed};
      }
      r.state = Runner::State::GaveUp;
      break;
    case StepStatus::OutOfMemory:
      if (!in_task) throw RunFailure{out.detail, StopKind::RequestFailed};
      r.state = Runner::State::GaveUp;
      break;
    case StepStatus::Stale:
      if (!in_task) throw RunFailure{fmt::format("the understudy found object {} stale at line {}", e.id, e.line)};
      r.state = Runner::State::Stale;
      break;
    case StepStatus::BadResult:
      throw RunFailure{fmt::format("{}{}", out.detail, in_task ? fmt::format(" in task {}", r.task) : " in the understudy"),
                       StopKind::BadResult};
  }
}

void run_to_end(RunContext& run, Runner& r, bool in_task) {
  while (r.state == Runner::State::Running) step(run, r, in_task);
  if (r.state != Runner::State::Finished) {
    throw RunFailure{"the understudy could not finish the group"};
  }
}

// Runs the group's processes in a seed-chosen interleaving, one event at a time.
// Returns true when the understudy's result is the one that survives.
bool race(RunContext& run, std::vector<Runner>& tasks, Runner* und) {
  const bool forced = und != nullptr && run.inject(run.cfg.faults.understudy_win);
  if (forced) ++run.st.forced_understudy_wins;
  if (run.cfg.understudy == UnderstudyMode::Always || forced) {
    // The understudy wins by decree (the tasks still run afterwards, for the report).
    run_to_end(run, *und, false);
    return true;
  }
  std::vector<Runner*> ready;
  while (true) {
    // Only the tasks before the first that stopped early can commit (sim/group.h).
    const std::size_t cut = running_cut(tasks);
    if (cut == 0) {
      // MAIN gave up: the understudy takes over, if there is one.
      if (und == nullptr) return false;
      run_to_end(run, *und, false);
      return true;
    }
    ready.clear();
    for (std::size_t k = 0; k < cut; ++k) {
      if (tasks[k].state == Runner::State::Running) ready.push_back(&tasks[k]);
    }
    if (ready.empty()) return false;  // speculation finished first
    if (und != nullptr) {
      if (und->state == Runner::State::Finished) return true;
      ready.push_back(und);
    }
    std::uint64_t total = 0;
    for (const Runner* r : ready) total += r->weight;
    std::uint64_t pick = run.sched.below(total);
    Runner* r = ready.front();
    for (Runner* c : ready) {
      if (pick < c->weight) {
        r = c;
        break;
      }
      pick -= c->weight;
    }
    step(run, *r, r != und);
  }
}

// The commit check (sim/group.h); records the conflicts, returns how many tasks commit.
int check_group(RunContext& run, int gi, std::vector<Runner>& tasks) {
  if (group_cut(tasks) == 0) return 0;
  CommitVerdict v = commit_check(gi, tasks, ForkObjects(run.main().objects, run.oracle.index(run.main())));
  for (Conflict& c : v.conflicts) run.record(std::move(c));
  if (v.main_stale) {
    throw RunFailure{fmt::format("MAIN of group {} found an object stale: the trace and the heap disagree", gi)};
  }
  run.st.findings.take(std::move(v.findings), SIZE_MAX, gi);
  return static_cast<int>(v.commit);
}

// Forks the group's tasks (and the understudy, unless the run has none) after the carve.
std::unique_ptr<Runner> fork_group(RunContext& run, const std::vector<Instance>& instances, std::uint32_t line,
                                   std::vector<Runner>& tasks) {
  const int n = static_cast<int>(instances.size());
  tasks.reserve(static_cast<std::size_t>(n));
  for (int k = 0; k < n; ++k) {
    run.where = {"task_init", line, Actor::of_task(k)};
    tasks.push_back(run.engine->fork_task(k, instances[static_cast<std::size_t>(k)]));
    Runner& t = tasks.back();
    run.verify_allocator(*t.proc, "task_init", line, Actor::of_task(k));
    t.weight = run.sched.between(2, 8);
  }
  if (run.cfg.understudy == UnderstudyMode::Never) return nullptr;
  run.where = {"understudy_init", line, Actor::understudy()};
  std::unique_ptr<Runner> und = run.engine->fork_understudy(instances);
  run.verify_allocator(*und->proc, "understudy_init", line, Actor::understudy());
  und->weight = run.sched.between(1, static_cast<std::uint64_t>(n));
  return und;
}

// What the tasks did, for the run's counters.
void count_tasks(RunContext& run, const std::vector<Runner>& tasks) {
  const Process& m = run.main();
  for (const Runner& t : tasks) {
    run.st.task_allocated_bytes += t.proc->alloc->task_allocated_bytes();
    run.st.task_system_requests += t.proc->sys.grants() - m.sys.grants();
    run.st.task_grown_bytes += t.proc->sys.slice_granted_bytes();
    if (t.state == Runner::State::GaveUp) ++run.st.rescues;
    if (t.state == Runner::State::Crashed) ++run.st.task_crashes;
  }
}

// Tasks 0..m-1 passed the commit check: their work becomes MAIN's (m == 0: none did and no
// understudy runs, so MAIN re-runs the group from its start).
void commit_group(RunContext& run, int gi, std::uint32_t line, std::vector<Runner>& tasks, int m) {
  Process& main = run.main();
  if (m == 0) {
    run.where = {"understudy_init", line, Actor::main()};
    main.alloc->understudy_init();
    run.verify_allocator(main, "understudy_init", line, Actor::main());
    return;
  }
  run.where = {"merge", line, Actor::main()};
  CommitResult done = run.engine->commit(tasks, static_cast<std::size_t>(m));
  if (run.searching()) {
    run.look_for_lost(m == 1 ? fmt::format("at the commit of group {} (task 0 committed, then the merge)", gi)
                             : fmt::format("at the commit of group {} (tasks 0 to {} committed, then the merge)", gi, m - 1));
  }
  run.st.adopted_bytes += done.adopted_bytes;
  // Memory a task took from outside its slice is shared state: the run is not verified, and goes
  // on so that the heap check shows what it did.
  run.st.findings.take(std::move(done.findings), kMaxOutsideSliceProblems, gi);
  run.verify_allocator(main, "merge", line, Actor::main());
}

void learn(RunContext& run, std::uint32_t line, const std::vector<const SimAllocator*>& allocs) {
  run.where = {"learn", line, Actor::main()};
  run.main().alloc->learn(allocs);
  run.verify_allocator(run.main(), "learn", line, Actor::main());
}

// The group after a carve that succeeded: forks, race, commit check, commit or takeover.
void speculate(RunContext& run, const std::vector<Instance>& instances, std::uint32_t line) {
  const int n = static_cast<int>(instances.size());
  const int gi = static_cast<int>(run.st.groups++);
  run.in_group = gi;
  if (run.searching()) run.look_for_lost(fmt::format("at the carve (group_init) of group {}", gi));
  run.st.reserved_bytes += run.main().alloc->reserved_bytes();

  std::vector<Runner> tasks;
  std::unique_ptr<Runner> und = fork_group(run, instances, line, tasks);
  const bool und_wins = race(run, tasks, und.get());
  // Every task runs until it stops, whoever won the race: the conflict report describes what
  // speculation met, the same for every understudy setting.
  for (Runner& t : tasks) {
    while (t.state == Runner::State::Running) step(run, t, true);
  }
  const std::uint64_t conflicts_before = run.conflicts_found();
  const std::uint64_t induced_before = run.st.count(FindingKind::AllocatorInduced);
  const int m = check_group(run, gi, tasks);
  const bool induced = run.st.count(FindingKind::AllocatorInduced) > induced_before;
  // The tasks ran in their own processes: MAIN's heap is still as it was before the group, the
  // "before" of the first failing group's before/after view.
  if (induced) run.recorder.map_before_first_failing_group(run.main(), run.st.groups - 1);
  run.recorder.group(static_cast<std::uint64_t>(gi), instances, tasks, und_wins ? 0 : m, und != nullptr, und_wins,
                     run.conflicts_found() - conflicts_before, run.main());
  const std::vector<const SimAllocator*> allocs = task_allocators(tasks);
  count_tasks(run, tasks);

  if (und_wins) {
    ++run.st.understudy_wins;
    run.st.aborted += static_cast<std::uint64_t>(n);
    run.engine->adopt_understudy(*und);
    if (run.searching()) run.look_for_lost(fmt::format("when the understudy's heap became the committed one in group {}", gi));
    learn(run, line, allocs);
  } else {
    run.st.committed += static_cast<std::uint64_t>(m);
    run.st.aborted += static_cast<std::uint64_t>(n - m);
    commit_group(run, gi, line, tasks, m);
    learn(run, line, allocs);
    // The speculative processes are done with: while they lived, MAIN's pages were shared with
    // them, and every page the serial re-run writes would be copied first.
    run.engine->retire(tasks, und);
    run_serially(run, instances, static_cast<std::size_t>(m));
    if (run.searching() && m < n) run.look_for_lost(fmt::format("in the serial re-run of group {}", gi));
  }
  run.st.peak_system_bytes = std::max(run.st.peak_system_bytes, run.main().sys.in_use());
  run.engine->retire(tasks, und);
  run.finish_group(instances);
  run.recorder.group_done(run.main());
  if (induced) run.recorder.map_first_failing_group(run.main(), run.st.groups);
}

}  // namespace

void run_group(RunContext& run, const std::vector<Instance>& instances) {
  if (run.map_before >= 0 && run.st.groups == static_cast<std::uint64_t>(run.map_before)) {
    run.recorder.map_heap(run.main(), "before the first failing group", run.st.groups);
    throw MappedBefore{};
  }
  run.look_in_sequential_code();
  Process& main = run.main();
  for (const Instance& in : instances) {
    for (const Event& e : in) {
      if (e.id >= 0) ensure_handle(main, e.id);
    }
  }
  if (run.inject(run.cfg.faults.fork_fail)) {
    // No fork, no speculation: the group's instances run serially.
    ++run.st.fork_failures;
    run_group_serially(run, instances);
    return;
  }
  const std::uint32_t line = first_line(instances);
  const int n = static_cast<int>(instances.size());
  run.where = {"group_init", line, Actor::main()};
  run.for_group = true;
  const bool carved = main.alloc->group_init(n);
  run.for_group = false;
  run.verify_allocator(main, "group_init", line, Actor::main());
  if (carved) {
    speculate(run, instances, line);
  } else if (n > 1) {
    // System memory refused the carve: fall back to smaller groups, then to serial execution.
    ++run.st.split_groups;
    const auto half = instances.begin() + (n + 1) / 2;
    run_group(run, std::vector<Instance>(instances.begin(), half));
    run_group(run, std::vector<Instance>(half, instances.end()));
  } else {
    run_group_serially(run, instances);
  }
}

}  // namespace pprsim
