// What one replay holds while it runs, shared by its two sides: the sequential side (sim/replay.cpp:
// events in MAIN, heap checks) and the group side (sim/group_run.cpp: the group protocol). It
// owns the engine (sim/engine.h), the reference the oracle checks against, the run's counters and
// findings, and where the run is, so that a failure names its call, trace line and process.
// Internal to sim/: the rest of the project sees a run through sim/replay.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sim/check_pacer.h"
#include "sim/conflict_sample.h"
#include "sim/content_model.h"
#include "sim/engine.h"
#include "sim/oracle.h"
#include "sim/replay.h"
#include "sim/run_record.h"
#include "traces/prng.h"

namespace pprsim {

// Raised to stop the run: the allocator failed in a way the run cannot go on from.
struct RunFailure {
  std::string why;
  StopKind kind = StopKind::Other;
};

// Raised to end a run that only maps the heap before a group (RunContext::map_before).
struct MappedBefore {};

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
  std::string suffix() const;
};

// What the run is doing, for a failure's message: the call (an event's or a group hook's), its
// trace line (a hook: the group's first line) and who made it.
struct Where {
  std::string_view hook;  // a group hook's name; empty: the event's operation
  std::uint32_t line = 0;
  Actor who;
  Op op = Op::Malloc;
  // Named only when a failure is reported, not for every event.
  std::string_view call() const { return hook.empty() ? call_name(op) : hook; }
};

class RunContext {
 public:
  RunContext(const ReplayConfig& cfg, LostSearch* search);
  RunContext(const RunContext&) = delete;
  RunContext& operator=(const RunContext&) = delete;

  Process& main() { return engine->main(); }

  // Runs one event in MAIN outside any task; a failure ends the run (RunFailure).
  void run_seq(const Event& e);

  // The paranoid check level: the allocator's own invariants, right after `call` (at trace line
  // `line`, by `who`). A broken one ends the run at its cause.
  void verify_allocator(Process& p, std::string_view call, std::uint32_t line, Actor who);

  // A heap check of MAIN: full when `final`, or when due (CheckPacer). A failed one ends the run.
  void check(bool final);

  // The trace's events of a group that ran (speculatively or not) are now MAIN's: the reference
  // takes them, then the heap check after the group.
  void finish_group(const std::vector<Instance>& instances);

  // Lost-block search (LostSearch): whether this group is in the searched stretch, and a census
  // of MAIN now that places every lost block not seen before at `stage`.
  bool searching() const;
  void look_for_lost(const std::string& stage);
  // The sequential code since the last such census, if any, as one stage.
  void look_in_sequential_code();

  // A conflict the commit check found: counted as a finding, kept in the sample.
  void record(Conflict c);
  std::uint64_t conflicts_found() const;

  // "at line 12 in task 2", "during the heap check after group 3".
  std::string where_text() const;

  // The run stops: its failure in words, its kind, and its finding (unless it is the heap
  // check's, whose findings are the failure).
  void stop(StopKind kind, std::string why);

  // Draws one injected fault with probability ppm / 10^6 (no draw when the plan has none).
  bool inject(std::uint32_t ppm) { return ppm != 0 && faults.chance(ppm, FaultPlan::kOne); }

  const ReplayConfig& cfg;
  LostSearch* search;  // set in the second run that looks for where lost blocks went missing
  Prng sched;          // the seeded race (sim/group_run.cpp)
  Prng faults;         // injected faults (ReplayConfig::faults)
  bool paranoid;
  std::unique_ptr<Engine> engine;
  // A system-memory request now is made for a group (the carve or growth in a task): with
  // `--faults oom`, only those may be refused.
  bool for_group = false;
  // `--faults pressure`: a request of the sequential call now running may still be refused (at
  // most one per call), and whether one was.
  bool pressure_armed = false;
  bool pressure_refused = false;
  std::int64_t in_group = -1;    // the group running or last run (-1: sequential code), for findings
  std::int64_t map_before = -1;  // >= 0: map MAIN's heap as this group starts, then stop (MappedBefore)
  Where where;                   // what the run is doing now
  ContentModel model;            // the sequential reference the oracle checks against
  HeapOracle oracle;
  CheckPacer pacer;
  RunStats st;
  ConflictSample sample;  // becomes st.conflicts at the end
  RunRecorder recorder;   // the run's picture (ReplayConfig::record_report)
  std::uint64_t clean_full_groups = 0;  // groups run at the last full check that found no lost block
  std::uint32_t seq_from_line = 0;      // the sequential lines since the last search census
  std::uint32_t seq_to_line = 0;
};

}  // namespace pprsim
