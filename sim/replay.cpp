#include "sim/replay.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <stdexcept>
#include <string_view>

#include "sim/call_guard.h"
#include "sim/content_model.h"
#include "sim/executor.h"
#include "sim/group.h"
#include "sim/oracle.h"
#include "sim/resident.h"
#include "traces/prng.h"
#include "sim/sim_allocator.h"

namespace pprsim {

std::string_view understudy_name(UnderstudyMode m) {
  switch (m) {
    case UnderstudyMode::Auto: return "auto";
    case UnderstudyMode::Never: return "never";
    case UnderstudyMode::Always: return "always";
  }
  return "auto";
}

std::string_view stop_kind_name(StopKind k) {
  switch (k) {
    case StopKind::None: return "none";
    case StopKind::RequestFailed: return "request-failed";
    case StopKind::BadResult: return "bad-result";
    case StopKind::Fault: return "fault";
    case StopKind::Crash: return "crash";
    case StopKind::Hang: return "hang";
    case StopKind::Invariant: return "invariant";
    case StopKind::HeapCheck: return "heap-check";
    case StopKind::Other: return "other";
  }
  return "other";
}

namespace {

// Problems kept of regions taken outside a slice (they are all counted).
constexpr std::size_t kMaxOutsideSliceProblems = 20;
// A full heap check reads every live byte; each event since the last one pays for this many.
constexpr std::uint64_t kFullCheckBytesPerEvent = 256;

// Raised to stop the run: the allocator failed in a way the run cannot go on from.
struct RunFailure {
  std::string why;
  StopKind kind = StopKind::Other;
};

// PPRSIM_PARANOID=1 in the environment switches the paranoid check level on for every run.
bool paranoid_from_environment() {
  const char* v = std::getenv("PPRSIM_PARANOID");
  return v != nullptr && std::string_view(v) == "1";
}

// The second run of a trace whose heap check found lost blocks: the same run again (same seed,
// same checks), with a census after every step that can lose a block (a carve, a merge, the
// understudy's heap taking over, a serial re-run, a stretch of sequential code) from the last
// full check that found none on, so each lost block is named with where it went missing.
struct LostSearch {
  std::uint64_t from_group = 0;  // groups run before the last clean full check
  std::uint64_t to_group = 0;    // groups run at the check that found them
  std::vector<Addr> known;       // blocks already placed (few: at most HeapCheck::kMaxLost a census)
  std::vector<RunStats::LostOrigin> found;
};

class Replayer {
 public:
  Replayer(const TraceReader& reader, const ReplayConfig& cfg, LostSearch* search = nullptr)
      : cfg_(cfg),
        search_(search),
        sched_(Prng::derive(cfg.seed, "scheduler")),
        faults_(Prng::derive(cfg.seed, "faults")),
        paranoid_(cfg.paranoid || paranoid_from_environment()) {
    if (cfg.group_size < 1 || cfg.group_size > 64) {
      throw std::invalid_argument(fmt::format("group size {} is outside 1..64", cfg.group_size));
    }
    main_ = std::make_unique<Process>(cfg.memory_limit);
    main_->sys.set_slice_bytes(round_up(cfg.task_slice, kPageSize));
    main_->alloc = make_allocator(cfg.allocator, main_->mem);
    main_->mem.set_coverage(&st_.coverage);
    if (cfg.faults.oom != 0) {
      // Requests made for a group (the carve, growth inside a task) may be refused.
      main_->sys.set_refuse([this](std::uint64_t) { return for_group_ && inject(cfg_.faults.oom); });
    }
    st_.trace = reader.name();
    st_.format = std::string(format_name(reader.format()));
    st_.allocator = std::string(main_->alloc->name());
    st_.group_size = cfg.group_size;
    st_.ppr_every = cfg.ppr_every;
    st_.seed = cfg.seed;
    st_.understudy = std::string(understudy_name(cfg.understudy));
    st_.faults = cfg.faults.to_string();
    st_.checks = {"conflicts", "contents", "overlap"};
    if (main_->alloc->has_census()) st_.checks.push_back("census");
    if (paranoid_ && main_->alloc->has_verify()) st_.checks.push_back("verify");
  }

  RunStats run(TraceReader& reader) {
    const auto t0 = std::chrono::steady_clock::now();
    set_call_time_limit(cfg_.call_time_limit);
    try {
      read_all(reader);
      if (st_.failure.empty()) {
        look_in_sequential_code();  // the sequential code after the last check, if any
        check(true);
      }
    } catch (const RunFailure& f) {
      st_.failure = f.why;
      st_.stop = f.kind;
    } catch (const AllocatorCrash& c) {
      st_.stop = c.hung() ? StopKind::Hang : StopKind::Crash;
      st_.failure = fmt::format("the allocator {} in {} {}: {}", c.hung() ? "hung" : "crashed", c.call(), where_text(),
                                c.reason());
    } catch (const MemoryFault& f) {
      st_.stop = StopKind::Fault;
      const std::string call = where_.who.kind == Actor::Kind::HeapCheck ? std::string()
                                                                        : fmt::format(" in {}", where_.call());
      st_.failure = fmt::format("the allocator faulted{} {}: {}", call, where_text(), f.what());
    } catch (const AllocatorFailure& f) {
      st_.stop = StopKind::Other;
      st_.failure = fmt::format("the allocator failed {}: {}", where_text(), f.what());
    }
    // Also what tasks, the understudy and a serial re-run reached, so that a failure's "bytes in
    // use" never exceeds the peak reported beside it.
    if (cfg_.record_report) {
      map_heap(st_.failure.empty() ? "end of the run" : "where the run stopped");
    }
    st_.peak_system_bytes = std::max(st_.peak_system_bytes, main_->sys.peak());
    st_.final_live_objects = main_->objects.size();
    st_.final_live_bytes = main_->objects.bytes();
    st_.refused_requests = main_->sys.refusals();
    st_.verified = st_.failure.empty() && st_.allocator_induced == 0 && st_.regions_outside_slice == 0 &&
                   st_.lost_blocks == 0 && st_.double_allocations == 0 && st_.content_mismatches == 0;
    st_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return std::move(st_);
  }

 private:
  // ---- Reading: cut the stream into SEQ events and PPR instances, groups of G instances. ----

  void read_all(TraceReader& reader) {
    Event e;
    const std::size_t g = static_cast<std::size_t>(cfg_.group_size);
    Instance current;
    std::vector<Instance> group;
    std::uint64_t ops_in_instance = 0;
    bool inside = false;
    auto close_instance = [&] {
      group.push_back(std::move(current));
      current.clear();
      ops_in_instance = 0;
      if (group.size() == g) flush(group);
    };
    while (reader.next(e)) {
      if (is_operation(e.op) && ++st_.events % ReplayProgress::kEvery == 0 && cfg_.progress) {
        cfg_.progress({.events = st_.events,
                       .groups = st_.groups,
                       .bytes_read = reader.bytes_read(),
                       .total_bytes = reader.total_bytes(),
                       .announced_events = reader.announced_operations()});
      }
      if (g == 1) {
        if (is_operation(e.op)) sequential(e);
        continue;
      }
      if (cfg_.ppr_every > 0) {
        if (!is_operation(e.op)) continue;
        current.push_back(e);
        if (is_allocator_op(e.op) && ++ops_in_instance == cfg_.ppr_every) close_instance();
      } else if (e.op == Op::PprBegin) {
        inside = true;
      } else if (e.op == Op::PprEnd) {
        inside = false;
        close_instance();
      } else if (inside) {
        current.push_back(e);
      } else {
        flush(group);
        sequential(e);
      }
    }
    if (!current.empty()) group.push_back(std::move(current));
    flush(group);
  }

  void flush(std::vector<Instance>& group) {
    if (!group.empty()) run_group(group);
    group.clear();
  }

  // ---- SEQ ----

  void sequential(const Event& e) {
    if (seq_from_line_ == 0) seq_from_line_ = e.line;
    seq_to_line_ = e.line;
    run_seq(e);
    model_.apply(e);
    if (e.id >= 0) oracle_.touch(e.id);
    ++since_full_;
    if (++since_check_ >= cfg_.check_every) {
      look_in_sequential_code();
      check(false);
    }
  }

  // Runs one event in MAIN outside any task; failures end the run.
  void run_seq(const Event& e) {
    where_ = {{}, e.line, Actor::main(), e.op};
    if (e.id >= 0) ensure_handle(*main_, e.id);
    const StepOutcome out = execute(*main_, e);
    if (is_allocator_op(e.op)) verify_allocator(*main_, call_name(e.op), e.line, Actor::main());
    switch (out.status) {
      case StepStatus::Done: break;
      case StepStatus::OutOfMemory: throw RunFailure{out.detail, StopKind::RequestFailed};
      case StepStatus::BadResult: throw RunFailure{out.detail, StopKind::BadResult};
      case StepStatus::GaveUp:
        throw RunFailure{fmt::format("the allocator gave up outside a task at line {}", e.line), StopKind::RequestFailed};
      case StepStatus::Stale:
        throw RunFailure{fmt::format("object {} is not what line {} expects in the committed heap", e.id, e.line),
                         StopKind::HeapCheck};
    }
    st_.peak_system_bytes = std::max(st_.peak_system_bytes, main_->sys.in_use());
  }

  // Who made a call: MAIN (sequential code, or a group hook in the parent), the understudy,
  // task k, or the oracle walking MAIN's heap (not a process).
  struct Actor {
    enum class Kind : std::uint8_t { Main, Understudy, Task, HeapCheck };
    Kind kind = Kind::Main;
    int task = -1;
    static Actor main() { return {}; }
    static Actor understudy() { return {Kind::Understudy, -1}; }
    static Actor of_task(int k) { return {Kind::Task, k}; }
    static Actor heap_check() { return {Kind::HeapCheck, -1}; }
    // "", " in the understudy", " in task 2".
    std::string suffix() const {
      if (kind == Kind::Understudy) return " in the understudy";
      if (kind == Kind::Task) return fmt::format(" in task {}", task);
      return "";
    }
  };

  // What the run was doing, for a failure's message: the call (an event's or a group hook's),
  // its trace line (a hook: the group's first line) and who made it.
  struct Where {
    std::string_view hook;  // a group hook's name; empty: the event's operation
    std::uint32_t line = 0;
    Actor who;
    Op op = Op::Malloc;
    // Named only when a failure is reported, not for every event.
    std::string_view call() const { return hook.empty() ? call_name(op) : hook; }
  };

  std::string where_text() const {
    if (where_.who.kind == Actor::Kind::HeapCheck) {
      return st_.groups == 0 ? std::string("during the heap check before the first group")
                             : fmt::format("during the heap check after group {}", st_.groups - 1);
    }
    return fmt::format("at line {}{}", where_.line, where_.who.suffix());
  }

  // The paranoid check level: the allocator's own invariants, right after `call` (at trace
  // line `line`, by `who`). A broken one ends the run at its cause.
  void verify_allocator(Process& p, std::string_view call, std::uint32_t line, Actor who) {
    if (!paranoid_) return;
    const Process::Untracked quiet(p);
    const std::string broken = p.alloc->verify();
    if (!broken.empty()) {
      throw RunFailure{fmt::format("paranoid check after {} at line {}{}: {}", call, line, who.suffix(), broken),
                       StopKind::Invariant};
    }
  }

  static std::uint32_t first_line(const std::vector<Instance>& instances) {
    for (const Instance& in : instances) {
      if (!in.empty()) return in.front().line;
    }
    return 0;
  }

  // A heap check: full when `final`, or when due (see ReplayConfig::full_check_every).
  void check(bool final) {
    where_ = {"", 0, Actor::heap_check()};
    since_check_ = 0;
    ++st_.heap_checks;
    ++checks_since_full_;
    // 1 asks for every check to be full: no waiting for the events to pay for it. Otherwise a
    // full check waits for as many events as it has objects to look at, plus one per
    // kFullCheckBytesPerEvent bytes it read the last time: spread over those events, its cost
    // is a bounded share of theirs, however large the heap.
    const bool full = final || cfg_.full_check_every <= 1 ||
                      (checks_since_full_ >= cfg_.full_check_every &&
                       since_full_ >= main_->objects.size() + full_check_bytes_ / kFullCheckBytesPerEvent);
    HeapCheck c;
    if (full) {
      ++st_.full_heap_checks;
      checks_since_full_ = 0;
      since_full_ = 0;
      c = oracle_.check_all(*main_, model_);
      st_.final_live_blocks = c.live_blocks;
      full_check_bytes_ = c.live_bytes;
      if (c.lost_blocks == 0) {
        clean_full_groups_ = st_.groups;
      } else if (st_.lost_since_group < 0) {
        st_.lost_since_group = static_cast<std::int64_t>(clean_full_groups_);
        st_.lost_found_group = static_cast<std::int64_t>(st_.groups);
      }
    } else {
      c = oracle_.check_changes(*main_, model_);
    }
    if (c.ok()) return;
    st_.lost_blocks += c.lost_blocks;
    st_.double_allocations += c.double_allocations;
    st_.content_mismatches += c.content_mismatches;
    for (auto& p : c.problems) st_.problems.push_back(std::move(p));
    // Groups are numbered from 0, as in the conflict report and the timeline.
    throw RunFailure{st_.groups == 0 ? std::string("the heap check before the first group failed; the run stops here")
                                     : fmt::format("the heap check after group {} failed; the run stops here",
                                                   st_.groups - 1),
                     StopKind::HeapCheck};
  }

  // ---- Where lost blocks went missing (LostSearch) ----

  bool searching() const {
    return search_ != nullptr && st_.groups >= search_->from_group && st_.groups <= search_->to_group;
  }

  // A census of MAIN now; every lost block not seen before went missing at `stage`.
  void look_for_lost(const std::string& stage) {
    const HeapCheck c = check_census(*main_);
    for (const HeapCheck::Block& b : c.lost) {
      if (std::find(search_->known.begin(), search_->known.end(), b.start) != search_->known.end()) continue;
      search_->known.push_back(b.start);
      search_->found.push_back({b.start, b.size, stage});
    }
  }

  void look_in_sequential_code() {
    if (seq_from_line_ != 0 && searching()) {
      look_for_lost(fmt::format("in sequential code, lines {} to {}", seq_from_line_, seq_to_line_));
    }
    seq_from_line_ = 0;
  }

  // ---- Groups ----

  void run_group(const std::vector<Instance>& instances) {
    look_in_sequential_code();
    const int n = static_cast<int>(instances.size());
    for (const Instance& in : instances) {
      for (const Event& e : in) {
        if (e.id >= 0) ensure_handle(*main_, e.id);
      }
    }
    if (inject(cfg_.faults.fork_fail)) {
      // No fork, no speculation: the group's instances run serially.
      ++st_.groups;
      ++st_.fork_failures;
      ++st_.serial_groups;
      run_serially(instances, 0);
      if (searching()) look_for_lost(fmt::format("in group {}, run serially", st_.groups - 1));
      record_serial_group(instances);
      finish_group(instances);
      return;
    }
    const std::uint32_t line = first_line(instances);
    where_ = {"group_init", line, Actor::main()};
    for_group_ = true;
    const bool carved = main_->alloc->group_init(n);
    for_group_ = false;
    verify_allocator(*main_, "group_init", line, Actor::main());
    if (!carved) {
      // System memory refused the carve: fall back to smaller groups, then to serial execution.
      if (n > 1) {
        ++st_.split_groups;
        const auto half = instances.begin() + (n + 1) / 2;
        run_group(std::vector<Instance>(instances.begin(), half));
        run_group(std::vector<Instance>(half, instances.end()));
        return;
      }
      ++st_.groups;
      ++st_.serial_groups;
      run_serially(instances, 0);
      if (searching()) look_for_lost(fmt::format("in group {}, run serially", st_.groups - 1));
      record_serial_group(instances);
      finish_group(instances);
      return;
    }
    const int gi = static_cast<int>(st_.groups++);
    if (searching()) look_for_lost(fmt::format("at the carve (group_init) of group {}", gi));
    st_.reserved_bytes += main_->alloc->reserved_bytes();

    std::vector<Runner> tasks;
    tasks.reserve(static_cast<std::size_t>(n));
    for (int k = 0; k < n; ++k) {
      where_ = {"task_init", line, Actor::of_task(k)};
      tasks.push_back(fork_task(*main_, k, instances[static_cast<std::size_t>(k)], spare_process()));
      Runner& t = tasks.back();
      verify_allocator(*t.proc, "task_init", line, Actor::of_task(k));
      t.weight = sched_.between(2, 8);
    }
    std::unique_ptr<Runner> und;
    if (cfg_.understudy != UnderstudyMode::Never) {
      where_ = {"understudy_init", line, Actor::understudy()};
      und = fork_understudy(*main_, instances, spare_process());
      verify_allocator(*und->proc, "understudy_init", line, Actor::understudy());
      und->weight = sched_.between(1, static_cast<std::uint64_t>(n));
    }

    const bool und_wins = race(tasks, und.get());
    // Every task runs until it stops, whoever won the race: the conflict report describes what
    // speculation met, the same for every understudy setting.
    for (Runner& t : tasks) {
      while (t.state == Runner::State::Running) step(t, true);
    }
    const std::uint64_t conflicts_before = st_.allocator_induced + st_.true_dependence;
    const std::uint64_t induced_before = st_.allocator_induced;
    const int m = check_group(gi, tasks);
    if (cfg_.record_report) {
      record_group(gi, instances, tasks, und_wins ? 0 : m, und != nullptr, und_wins,
                   st_.allocator_induced + st_.true_dependence - conflicts_before);
    }
    const std::vector<const SimAllocator*> allocs = task_allocators(tasks);
    for (const Runner& t : tasks) {
      st_.task_allocated_bytes += t.proc->alloc->task_allocated_bytes();
      st_.task_system_requests += t.proc->sys.grants() - main_->sys.grants();
      st_.task_grown_bytes += t.proc->sys.slice_granted_bytes();
      if (t.state == Runner::State::GaveUp) ++st_.rescues;
      if (t.state == Runner::State::Crashed) ++st_.task_crashes;
    }

    if (und_wins) {
      ++st_.understudy_wins;
      st_.aborted += static_cast<std::uint64_t>(n);
      main_->become(*und->proc);
      if (searching()) look_for_lost(fmt::format("when the understudy's heap became the committed one in group {}", gi));
      where_ = {"learn", line, Actor::main()};
      main_->alloc->learn(allocs);
      verify_allocator(*main_, "learn", line, Actor::main());
    } else {
      st_.committed += static_cast<std::uint64_t>(m);
      st_.aborted += static_cast<std::uint64_t>(n - m);
      if (m == 0) {
        // MAIN could not finish and no understudy runs: re-run the group from its start.
        where_ = {"understudy_init", line, Actor::main()};
        main_->alloc->understudy_init();
        verify_allocator(*main_, "understudy_init", line, Actor::main());
      } else {
        where_ = {"merge", line, Actor::main()};
        CommitResult done = commit_tasks(*main_, tasks, static_cast<std::size_t>(m));
        if (searching()) look_for_lost(m == 1 ? fmt::format("at the commit of group {} (task 0 committed, then the merge)", gi)
                                 : fmt::format("at the commit of group {} (tasks 0 to {} committed, then the merge)", gi, m - 1));
        st_.adopted_bytes += done.adopted_bytes;
        // Memory a task took from outside its slice is shared state: the run is not verified,
        // and goes on so that the heap check shows what it did.
        st_.regions_outside_slice += done.problems.size();
        for (std::string& p : done.problems) {
          if (st_.problems.size() < kMaxOutsideSliceProblems) st_.problems.push_back(std::move(p));
        }
        verify_allocator(*main_, "merge", line, Actor::main());
      }
      where_ = {"learn", line, Actor::main()};
      main_->alloc->learn(allocs);
      verify_allocator(*main_, "learn", line, Actor::main());
      // The speculative processes are done with: while they lived, MAIN's pages were shared
      // with them, and every page the serial re-run writes would be copied first.
      retire(tasks, und);
      run_serially(instances, static_cast<std::size_t>(m));
      if (searching() && m < n) look_for_lost(fmt::format("in the serial re-run of group {}", gi));
    }
    st_.peak_system_bytes = std::max(st_.peak_system_bytes, main_->sys.in_use());
    retire(tasks, und);
    finish_group(instances);
    if (cfg_.record_report && !failing_mapped_ && st_.allocator_induced > induced_before) {
      failing_mapped_ = true;
      map_heap("first failing group");
    }
  }

  // A recycled process to fork into, or null (fork makes one).
  std::unique_ptr<Process> spare_process() {
    if (spare_.empty()) return nullptr;
    std::unique_ptr<Process> p = std::move(spare_.back());
    spare_.pop_back();
    return p;
  }

  // The group's processes go back to the spares (a group takes at most G + 1 of them).
  void retire(std::vector<Runner>& tasks, std::unique_ptr<Runner>& und) {
    for (Runner& t : tasks) {
      if (t.proc) {
        t.proc->recycle();
        spare_.push_back(std::move(t.proc));
      }
    }
    tasks.clear();
    if (und && und->proc) {
      und->proc->recycle();
      spare_.push_back(std::move(und->proc));
    }
    und.reset();
  }

  // ---- The run's picture (ReplayConfig::record_report) ----

  static TaskRecord task_record(int k, const Instance& in, std::string outcome) {
    TaskRecord t;
    t.task = k;
    if (!in.empty()) {
      t.first_line = in.front().line;
      t.last_line = in.back().line;
    }
    t.outcome = std::move(outcome);
    return t;
  }

  static void span_of(GroupRecord& g) {
    for (const TaskRecord& t : g.tasks) {
      if (t.first_line == 0) continue;
      if (g.first_line == 0 || t.first_line < g.first_line) g.first_line = t.first_line;
      g.last_line = std::max(g.last_line, t.last_line);
    }
  }

  void record_serial_group(const std::vector<Instance>& instances) {
    if (!cfg_.record_report) return;
    GroupRecord g;
    g.group = st_.groups - 1;
    g.serial = true;
    g.understudy = "none";
    for (std::size_t k = 0; k < instances.size(); ++k) {
      g.tasks.push_back(task_record(static_cast<int>(k), instances[k], "serial"));
    }
    span_of(g);
    st_.timeline.add(std::move(g), true);
  }

  // `committed`: tasks 0..committed-1 committed (0 when the understudy won).
  void record_group(int gi, const std::vector<Instance>& instances, const std::vector<Runner>& tasks, int committed,
                    bool has_understudy, bool und_wins, std::uint64_t conflicts) {
    GroupRecord g;
    g.group = static_cast<std::uint64_t>(gi);
    g.understudy = !has_understudy ? "none" : und_wins ? "won" : "lost";
    g.conflicts = conflicts;
    bool quiet = !und_wins && conflicts == 0;
    for (std::size_t k = 0; k < tasks.size(); ++k) {
      std::string outcome = "aborted";
      if (static_cast<int>(k) < committed) {
        outcome = "committed";
      } else if (tasks[k].state == Runner::State::GaveUp) {
        outcome = "gave-up";
      } else if (tasks[k].state == Runner::State::Crashed) {
        outcome = "crashed";
      }
      if (outcome != "committed") quiet = false;
      TaskRecord t = task_record(static_cast<int>(k), instances[k], std::move(outcome));
      if (static_cast<int>(k) < committed) spans_.add(t.first_line, t.last_line, t.task);
      g.tasks.push_back(std::move(t));
    }
    span_of(g);
    st_.timeline.add(std::move(g), !quiet);
  }

  void map_heap(const char* when) {
    try {
      st_.heap_maps.push_back(take_heap_map(*main_->alloc, main_->sys.regions(), main_->objects, spans_, when, st_.groups));
    } catch (const std::runtime_error& e) {
      // A heap too broken to walk (a fault, a plugin that failed): the map shows its regions only.
      if (dynamic_cast<const MemoryFault*>(&e) == nullptr && dynamic_cast<const AllocatorFailure*>(&e) == nullptr) throw;
      HeapMap m = take_heap_map(*main_->alloc, {}, main_->objects, spans_, when, st_.groups);
      for (const auto& [base, size] : main_->sys.regions()) m.regions.push_back({base, size, {}});
      m.walked = false;
      st_.heap_maps.push_back(std::move(m));
    }
  }

  void run_serially(const std::vector<Instance>& instances, std::size_t from) {
    for (std::size_t k = from; k < instances.size(); ++k) {
      ++st_.reexecuted_instances;
      for (const Event& e : instances[k]) run_seq(e);
    }
  }

  void finish_group(const std::vector<Instance>& instances) {
    for (const Instance& in : instances) {
      for (const Event& e : in) {
        model_.apply(e);
        if (e.id >= 0) oracle_.touch(e.id);
        ++since_full_;
      }
    }
    check(false);
  }

  // Runs the group's processes in a seed-chosen interleaving, one event at a time.
  // Returns true when the understudy's result is the one that survives.
  bool race(std::vector<Runner>& tasks, Runner* und) {
    const bool forced = und != nullptr && inject(cfg_.faults.understudy_win);
    if (forced) ++st_.forced_understudy_wins;
    if (cfg_.understudy == UnderstudyMode::Always || forced) {
      // The understudy wins by decree (the tasks still run afterwards, for the report).
      run_to_end(*und, false);
      return true;
    }
    std::vector<Runner*> ready;
    while (true) {
      // Only the tasks before the first that stopped early can commit (sim/group.h).
      const std::size_t cut = running_cut(tasks);
      if (cut == 0) {
        // MAIN gave up: the understudy takes over, if there is one.
        if (und == nullptr) return false;
        run_to_end(*und, false);
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
      std::uint64_t pick = sched_.below(total);
      Runner* r = ready.front();
      for (Runner* c : ready) {
        if (pick < c->weight) {
          r = c;
          break;
        }
        pick -= c->weight;
      }
      step(*r, r != und);
    }
  }

  void run_to_end(Runner& r, bool in_task) {
    while (r.state == Runner::State::Running) step(r, in_task);
    if (r.state != Runner::State::Finished) {
      throw RunFailure{"the understudy could not finish the group"};
    }
  }

  void step(Runner& r, bool in_task) {
    if (r.next == r.events.size()) {
      r.state = Runner::State::Finished;
      return;
    }
    if (in_task && inject(cfg_.faults.task_abort)) {
      ++st_.injected_aborts;
      r.state = Runner::State::GaveUp;
      return;
    }
    const Event& e = *r.events[r.next++];
    const Actor who = in_task ? Actor::of_task(r.task) : Actor::understudy();
    where_ = {{}, e.line, who, e.op};
    StepOutcome out;
    for_group_ = in_task;
    try {
      out = execute(*r.proc, e);
    } catch (const MemoryFault& f) {
      for_group_ = false;
      if (!in_task) throw;
      r.state = Runner::State::Crashed;
      return;
    }
    for_group_ = false;
    if (is_allocator_op(e.op)) verify_allocator(*r.proc, call_name(e.op), e.line, who);
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

  // The commit check (sim/group.h); records the conflicts, returns how many tasks commit.
  int check_group(int gi, std::vector<Runner>& tasks) {
    if (group_cut(tasks) == 0) return 0;
    CommitVerdict v = commit_check(gi, tasks, ForkObjects(main_->objects, oracle_.index(*main_)));
    for (Conflict& c : v.conflicts) record(std::move(c));
    if (v.main_stale) {
      throw RunFailure{fmt::format("MAIN of group {} found an object stale: the trace and the heap disagree", gi)};
    }
    for (std::string& p : v.problems) st_.problems.push_back(std::move(p));
    return static_cast<int>(v.commit);
  }

  void record(Conflict c) {
    if (c.cls == Conflict::Class::AllocatorInduced) {
      ++st_.allocator_induced;
    } else {
      ++st_.true_dependence;
    }
    if (st_.conflicts.size() < cfg_.max_conflict_details) st_.conflicts.push_back(std::move(c));
  }

  // Draws one injected fault with probability ppm / 10^6 (no draw when the plan has none).
  bool inject(std::uint32_t ppm) { return ppm != 0 && faults_.chance(ppm, FaultPlan::kOne); }

  const ReplayConfig& cfg_;
  LostSearch* search_;  // set in the second run that looks for where lost blocks went missing
  Prng sched_;
  Prng faults_;
  bool paranoid_;
  bool for_group_ = false;  // a system-memory request now is made for a group (carve or task)
  Where where_;             // what the run is doing now (for a failure's message)
  std::unique_ptr<Process> main_;
  std::vector<std::unique_ptr<Process>> spare_;  // recycled task and understudy processes
  ContentModel model_;
  HeapOracle oracle_;
  RunStats st_;
  TaskSpans spans_;              // committed tasks' lines, for the heap map's owners
  bool failing_mapped_ = false;  // the heap map of the first failing group was taken
  std::uint64_t since_check_ = 0;
  std::uint64_t clean_full_groups_ = 0;  // groups run at the last full check that found no lost block
  std::uint32_t seq_from_line_ = 0;      // the sequential lines since the last search census
  std::uint32_t seq_to_line_ = 0;
  std::uint64_t checks_since_full_ = 0;
  std::uint64_t since_full_ = 0;  // events since the last full check
  std::uint64_t full_check_bytes_ = 0;  // the live bytes the last full check read
};

}  // namespace

namespace {

// A run that stopped early did not read the rest of the trace: "events" counts the trace's
// operations all the same (and the rest is read, so bad input anywhere is still reported).
void count_the_rest(TraceReader& reader, RunStats& s) {
  for (Event e; reader.next(e);) {
    if (is_operation(e.op)) ++s.events;
  }
}

// Where the lost blocks of `s` went missing: the run again from a fresh reader, with a census
// after every step from the last clean full check on. Without a way to read the trace again, the
// stretch of groups is named instead.
void locate_lost_blocks(RunStats& s, const ReplayConfig& cfg) {
  const RunStats::LostOrigin stretch{
      0, 0,
      fmt::format("in groups {} to {} or the sequential code around them", s.lost_since_group,
                  s.lost_found_group - 1)};
  if (!cfg.reopen) {
    s.lost_block_origins.push_back(stretch);
    return;
  }
  ReplayConfig again = cfg;
  again.record_report = false;
  again.progress = nullptr;
  again.reopen = nullptr;
  LostSearch search;
  search.from_group = static_cast<std::uint64_t>(s.lost_since_group);
  search.to_group = static_cast<std::uint64_t>(s.lost_found_group);
  RunStats second;
  try {
    std::unique_ptr<TraceReader> reader = cfg.reopen();
    Replayer r(*reader, again, &search);
    second = r.run(*reader);
    count_the_rest(*reader, second);
  } catch (const std::exception&) {
    // The trace cannot be read again as it was (a pipe read once, a file that changed).
  }
  // The same run, or its findings say nothing of this one; and a search that placed nothing
  // says no more than the stretch.
  if (second.events != s.events || second.lost_blocks != s.lost_blocks || search.found.empty()) {
    s.lost_block_origins.push_back(stretch);
    return;
  }
  s.lost_block_origins = std::move(search.found);
}

}  // namespace

RunStats replay(TraceReader& reader, const ReplayConfig& cfg) {
  const ResidentLimitScope limit(cfg.max_resident != 0 ? cfg.max_resident : ResidentMeter::default_limit());
  RunStats s;
  {
    Replayer r(reader, cfg);
    s = r.run(reader);
  }
  count_the_rest(reader, s);
  if (s.lost_blocks != 0 && s.lost_since_group >= 0) locate_lost_blocks(s, cfg);
  return s;
}

}  // namespace pprsim
