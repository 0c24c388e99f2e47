#include "sim/replay.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "sim/call_guard.h"
#include "sim/check_pacer.h"
#include "sim/content_model.h"
#include "sim/executor.h"
#include "sim/group.h"
#include "sim/oracle.h"
#include "sim/resident.h"
#include "sim/run_record.h"
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

// Raised to end a run that only maps the heap before a group (Replayer::map_before).
struct MappedBefore {};

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
        paranoid_(cfg.paranoid || paranoid_from_environment()),
        pacer_(cfg.check_every, cfg.full_check_every),
        recorder_(cfg.record_report) {
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

  // Make this run one that stops as group `group` starts, with a map of MAIN's heap then (the
  // "before" of a group whose failure only the heap check after it found).
  void map_before(std::int64_t group) { map_before_ = group; }

  RunStats run(TraceReader& reader) {
    const auto t0 = std::chrono::steady_clock::now();
    set_call_time_limit(cfg_.call_time_limit);
    try {
      read_all(reader);
      if (st_.failure.empty()) {
        look_in_sequential_code();  // the sequential code after the last check, if any
        check(true);
      }
    } catch (const MappedBefore&) {
      // A run that only maps MAIN's heap as a group starts (map_before): done there.
      st_.heap_maps = std::move(recorder_.heap_maps());
      return std::move(st_);
    } catch (const RunFailure& f) {
      stop(f.kind, f.why);
    } catch (const AllocatorCrash& c) {
      stop(c.hung() ? StopKind::Hang : StopKind::Crash,
           fmt::format("the allocator {} in {} {}: {}", c.hung() ? "hung" : "crashed", c.call(), where_text(), c.reason()));
    } catch (const MemoryFault& f) {
      const std::string call = where_.who.kind == Actor::Kind::HeapCheck ? std::string()
                                                                        : fmt::format(" in {}", where_.call());
      stop(StopKind::Fault, fmt::format("the allocator faulted{} {}: {}", call, where_text(), f.what()));
    } catch (const AllocatorFailure& f) {
      stop(StopKind::Other, fmt::format("the allocator failed {}: {}", where_text(), f.what()));
    }
    // Also what tasks, the understudy and a serial re-run reached, so that a failure's "bytes in
    // use" never exceeds the peak reported beside it.
    recorder_.map_heap(*main_, st_.failure.empty() ? "end of the run" : "where the run stopped", st_.groups);
    st_.timeline = std::move(recorder_.timeline());
    st_.heap_maps = std::move(recorder_.heap_maps());
    st_.conflicts = sample_.kept();
    st_.conflict_pairs = sample_.pairs();
    st_.conflict_groups.assign(sample_.per_group().begin(), sample_.per_group().end());
    st_.peak_system_bytes = std::max(st_.peak_system_bytes, main_->sys.peak());
    st_.final_live_objects = main_->objects.size();
    st_.final_live_bytes = main_->objects.bytes();
    st_.refused_requests = main_->sys.refusals();
    st_.verified = !st_.findings.falsified();
    st_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return std::move(st_);
  }

 private:
  // ---- Reading: the trace cut into SEQ events and groups of G instances (sim/trace_cut.h) ----

  void read_all(TraceReader& reader) {
    TraceCut cut(cfg_.group_size, cfg_.ppr_every, [this](const Event& e) { sequential(e); },
                 [this](std::vector<Instance>& group) { run_group(group); });
    for (Event e; reader.next(e);) {
      if (is_operation(e.op) && ++st_.events % ReplayProgress::kEvery == 0 && cfg_.progress) {
        cfg_.progress({.events = st_.events,
                       .groups = st_.groups,
                       .bytes_read = reader.bytes_read(),
                       .total_bytes = reader.total_bytes(),
                       .announced_events = reader.announced_operations()});
      }
      cut.push(e);
    }
    cut.finish();
  }

  // ---- SEQ ----

  void sequential(const Event& e) {
    in_group_ = -1;
    if (seq_from_line_ == 0) seq_from_line_ = e.line;
    seq_to_line_ = e.line;
    run_seq(e);
    model_.apply(e);
    if (e.id >= 0) oracle_.touch(e.id);
    if (pacer_.sequential_event()) {
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
    ++st_.heap_checks;
    HeapCheck c;
    if (pacer_.start_check(final, main_->objects.size())) {
      ++st_.full_heap_checks;
      c = oracle_.check_all(*main_, model_);
      st_.final_live_blocks = c.live_blocks;
      pacer_.full_check_read(c.live_bytes);
      if (c.findings.count(FindingKind::LostBlock) == 0) {
        clean_full_groups_ = st_.groups;
      } else if (st_.lost_since_group < 0) {
        st_.lost_since_group = static_cast<std::int64_t>(clean_full_groups_);
        st_.lost_found_group = static_cast<std::int64_t>(st_.groups);
      }
    } else {
      c = oracle_.check_changes(*main_, model_);
    }
    if (c.ok()) return;
    if (st_.first_failing_group < 0 && st_.groups > 0) st_.first_failing_group = static_cast<std::int64_t>(st_.groups - 1);
    // Groups are numbered from 0, as in the conflict report and the timeline.
    st_.findings.take(std::move(c.findings), SIZE_MAX, static_cast<std::int64_t>(st_.groups) - 1);
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
    if (map_before_ >= 0 && st_.groups == static_cast<std::uint64_t>(map_before_)) {
      recorder_.map_heap(*main_, "before the first failing group", st_.groups);
      throw MappedBefore{};
    }
    look_in_sequential_code();
    const int n = static_cast<int>(instances.size());
    for (const Instance& in : instances) {
      for (const Event& e : in) {
        if (e.id >= 0) ensure_handle(*main_, e.id);
      }
    }
    if (inject(cfg_.faults.fork_fail)) {
      // No fork, no speculation: the group's instances run serially.
      in_group_ = static_cast<std::int64_t>(st_.groups++);
      ++st_.fork_failures;
      ++st_.serial_groups;
      run_serially(instances, 0);
      if (searching()) look_for_lost(fmt::format("in group {}, run serially", st_.groups - 1));
      recorder_.serial_group(st_.groups - 1, instances, *main_);
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
      in_group_ = static_cast<std::int64_t>(st_.groups++);
      ++st_.serial_groups;
      run_serially(instances, 0);
      if (searching()) look_for_lost(fmt::format("in group {}, run serially", st_.groups - 1));
      recorder_.serial_group(st_.groups - 1, instances, *main_);
      finish_group(instances);
      return;
    }
    const int gi = static_cast<int>(st_.groups++);
    in_group_ = gi;
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
    const std::uint64_t conflicts_before = conflicts_found();
    const std::uint64_t induced_before = st_.count(FindingKind::AllocatorInduced);
    const int m = check_group(gi, tasks);
    // The tasks ran in their own processes: MAIN's heap is still as it was before the group, the
    // "before" of the first failing group's before/after view.
    if (st_.count(FindingKind::AllocatorInduced) > induced_before) {
      recorder_.map_before_first_failing_group(*main_, st_.groups - 1);
    }
    recorder_.group(static_cast<std::uint64_t>(gi), instances, tasks, und_wins ? 0 : m, und != nullptr, und_wins,
                    conflicts_found() - conflicts_before, *main_);
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
        st_.findings.take(std::move(done.findings), kMaxOutsideSliceProblems, gi);
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
    recorder_.group_done(*main_);
    if (st_.count(FindingKind::AllocatorInduced) > induced_before) recorder_.map_first_failing_group(*main_, st_.groups);
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
        pacer_.group_event();
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
    st_.findings.take(std::move(v.findings), SIZE_MAX, gi);
    return static_cast<int>(v.commit);
  }

  void record(Conflict c) {
    st_.findings.tally(c.cls == Conflict::Class::AllocatorInduced ? FindingKind::AllocatorInduced
                                                                  : FindingKind::TrueDependence);
    if (c.cls == Conflict::Class::AllocatorInduced && st_.first_failing_group < 0) st_.first_failing_group = c.group;
    sample_.add(std::move(c));
  }

  std::uint64_t conflicts_found() const {
    return st_.count(FindingKind::AllocatorInduced) + st_.count(FindingKind::TrueDependence);
  }

  // The run stops: its failure in words, its kind, and its finding (unless it is the heap
  // check's, whose findings are the failure).
  void stop(StopKind kind, std::string why) {
    st_.stop = kind;
    st_.failure = std::move(why);
    if (kind == StopKind::HeapCheck && st_.findings.heap_wrong()) return;
    const FindingKind k = kind == StopKind::RequestFailed ? FindingKind::RequestFailed
                          : kind == StopKind::BadResult   ? FindingKind::BadResult
                          : kind == StopKind::Fault       ? FindingKind::Fault
                          : kind == StopKind::Crash       ? FindingKind::Crashed
                          : kind == StopKind::Hang        ? FindingKind::Hung
                          : kind == StopKind::Invariant   ? FindingKind::InvariantBroken
                                                          : FindingKind::Stopped;
    const bool in_check = where_.who.kind == Actor::Kind::HeapCheck;
    st_.findings.add({.kind = k,
                      .group = in_group_ >= 0 ? in_group_ : -1,
                      .task = where_.who.task,
                      .line = in_check ? 0 : where_.line,
                      .text = st_.failure},
                     1, SIZE_MAX);
  }

  // Draws one injected fault with probability ppm / 10^6 (no draw when the plan has none).
  bool inject(std::uint32_t ppm) { return ppm != 0 && faults_.chance(ppm, FaultPlan::kOne); }

  const ReplayConfig& cfg_;
  LostSearch* search_;  // set in the second run that looks for where lost blocks went missing
  Prng sched_;
  Prng faults_;
  bool paranoid_;
  bool for_group_ = false;  // a system-memory request now is made for a group (carve or task)
  std::int64_t in_group_ = -1;  // the group running or last run (-1: sequential code), for findings
  std::int64_t map_before_ = -1;  // see map_before
  Where where_;             // what the run is doing now (for a failure's message)
  std::unique_ptr<Process> main_;
  std::vector<std::unique_ptr<Process>> spare_;  // recycled task and understudy processes
  ContentModel model_;
  HeapOracle oracle_;
  CheckPacer pacer_;
  RunStats st_;
  ConflictSample sample_{cfg_.max_conflict_details};  // becomes st_.conflicts at the end
  RunRecorder recorder_;  // the run's picture (ReplayConfig::record_report)
  std::uint64_t clean_full_groups_ = 0;  // groups run at the last full check that found no lost block
  std::uint32_t seq_from_line_ = 0;      // the sequential lines since the last search census
  std::uint32_t seq_to_line_ = 0;
};

}  // namespace

std::vector<const Finding*> RunStats::problems() const {
  std::vector<const Finding*> out;
  for (const Finding& f : findings.kept()) {
    if (!finding_info(f.kind).stops) out.push_back(&f);
  }
  return out;
}

namespace {

// A run that stopped early did not read the rest of the trace: "events" counts the trace's
// operations all the same (and the rest is read, so bad input anywhere is still reported).
void count_the_rest(TraceReader& reader, RunStats& s) {
  for (Event e; reader.next(e);) {
    if (is_operation(e.op)) ++s.events;
  }
}

// The run of `cfg` once more, from a fresh reader of the same trace (cfg.reopen), without
// progress or picture unless `record_report`: with `search`, to find where lost blocks went
// missing (read to the trace's end, so that its `events` compare); with `map_before` >= 0, to
// map the heap as that group starts (and stop there). nullopt when the trace cannot be read
// again as it was (a pipe read once, a file that changed).
std::optional<RunStats> run_again(const ReplayConfig& cfg, bool record_report, LostSearch* search,
                                  std::int64_t map_before) {
  if (!cfg.reopen) return std::nullopt;
  ReplayConfig again = cfg;
  again.record_report = record_report;
  again.progress = nullptr;
  again.reopen = nullptr;
  try {
    std::unique_ptr<TraceReader> reader = cfg.reopen();
    Replayer r(*reader, again, search);
    if (map_before >= 0) {
      r.map_before(map_before);
      return r.run(*reader);
    }
    RunStats second = r.run(*reader);
    count_the_rest(*reader, second);
    return second;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Where the lost blocks of `s` went missing: the run again from a fresh reader, with a census
// after every step from the last clean full check on. Without a way to read the trace again, the
// stretch of groups is named instead.
void locate_lost_blocks(RunStats& s, const ReplayConfig& cfg) {
  LostSearch search;
  search.from_group = static_cast<std::uint64_t>(s.lost_since_group);
  search.to_group = static_cast<std::uint64_t>(s.lost_found_group);
  const std::optional<RunStats> second = run_again(cfg, false, &search, -1);
  // The same run, or its findings say nothing of this one; and a search that placed nothing
  // says no more than the stretch.
  if (!second || second->events != s.events ||
      second->count(FindingKind::LostBlock) != s.count(FindingKind::LostBlock) || search.found.empty()) {
    s.lost_block_origins.push_back(
        {0, 0,
         fmt::format("in groups {} to {} or the sequential code around them", s.lost_since_group,
                     s.lost_found_group - 1)});
    return;
  }
  s.lost_block_origins = std::move(search.found);
}

// The heap map before the first failing group, when the run took none (a failure that only the
// heap check after the group found), from the run again to where that group starts. Without a
// way to read the trace again, the report has the map after it only.
void map_before_failing_group(RunStats& s, const ReplayConfig& cfg) {
  constexpr std::string_view kBefore = "before the first failing group";
  for (const HeapMap& m : s.heap_maps) {
    if (m.when == kBefore) return;
  }
  std::optional<RunStats> second = run_again(cfg, true, nullptr, s.first_failing_group);
  if (!second) return;
  for (HeapMap& m : second->heap_maps) {
    if (m.when == kBefore) s.heap_maps.insert(s.heap_maps.begin(), std::move(m));
  }
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
  if (s.count(FindingKind::LostBlock) != 0 && s.lost_since_group >= 0) locate_lost_blocks(s, cfg);
  if (cfg.record_report && s.first_failing_group >= 0) map_before_failing_group(s, cfg);
  return s;
}

}  // namespace pprsim
