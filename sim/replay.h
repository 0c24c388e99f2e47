// Replays one trace on one allocator: sequential events run in SEQ, PPR instances run in groups
// of virtual processes (MAIN and SPEC tasks forked copy-on-write, the understudy beside them)
// in a seed-chosen interleaving, then commit or fall back exactly as docs/DESIGN.md section 1 says.
// The oracle checks the committed heap after every group and at checkpoints.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/conflict_sample.h"
#include "sim/conflicts.h"
#include "sim/coverage.h"
#include "sim/faults.h"
#include "sim/findings.h"
#include "sim/run_report.h"
#include "traces/trace_reader.h"

namespace pprsim {

enum class UnderstudyMode : std::uint8_t { Auto, Never, Always };

// Why a run stopped before the end of its trace (RunStats::failure says it in words).
enum class StopKind : std::uint8_t {
  None,           // it did not: the whole trace ran
  RequestFailed,  // the allocator returned NULL or gave up where it may not
  BadResult,      // the allocator returned an address no block can have
  Fault,          // the allocator touched memory it never obtained
  Crash,          // the allocator raised a fatal signal (plugins: sim/call_guard.h)
  Hang,           // an allocator call did not return within ReplayConfig::call_time_limit
  Invariant,      // the allocator's own verify() failed (the paranoid level)
  HeapCheck,      // the oracle found the heap wrong (lost, double, contents)
  Other,
};
// "none", "request-failed", "bad-result", "fault", "crash", "hang", "invariant", "heap-check", "other".
std::string_view stop_kind_name(StopKind k);

// Where a replay is, for a progress line: told every kEvery operations (often enough that a slow
// run, every event checked, still moves; the line itself redraws by time).
struct ReplayProgress {
  static constexpr std::uint64_t kEvery = 1u << 8;
  std::uint64_t events = 0;           // operations read so far
  std::uint64_t groups = 0;           // PPR groups run so far
  std::uint64_t bytes_read = 0;       // of the trace file (0: the reader cannot tell)
  std::uint64_t total_bytes = 0;      // the trace file's size (0: unknown, e.g. a pipe)
  std::uint64_t announced_events = 0; // operations the trace's header announces (0: none)
};

struct ReplayConfig {
  std::string allocator = "dmmalloc";
  int group_size = 1;             // 1: everything runs sequentially
  std::uint64_t ppr_every = 0;    // 0: PPR instances from the trace's ppr/end markers
  std::uint64_t seed = 1;
  UnderstudyMode understudy = UnderstudyMode::Auto;
  std::uint64_t memory_limit = std::uint64_t{16} << 30;  // simulated system memory
  std::uint64_t task_slice = 0;  // address space per task for growth; 0: as large as memory_limit
  std::uint64_t check_every = 1000;  // sequential events between heap checks
  // Every N-th heap check is a full one (census of the whole heap), the others check what
  // changed; a full check waits until at least as many events ran since the last one as there
  // are live objects, plus one per 256 bytes the last full check read, so its cost is paid for.
  // The last check of a run is always full. 1: every check is full.
  std::uint64_t full_check_every = 16;
  // Real memory the simulation may hold (sim/resident.h); 0: ResidentMeter::default_limit().
  std::uint64_t max_resident = 0;
  std::size_t max_conflict_details = 1000;
  FaultPlan faults;
  // Check the allocator's own invariants (SimAllocator::verify) after every allocator call
  // and group hook, in every process; the first broken one stops the run, naming the trace
  // line. Also switched on by the environment variable PPRSIM_PARANOID=1.
  bool paranoid = false;
  // The longest one call into a plugin may take before the run stops as hung (0: no limit).
  double call_time_limit = 10;
  // Keep the timeline of groups and the heap maps for the run's picture (RunStats::timeline,
  // heap_maps; the HTML report). Costs a heap walk at the end and at the first failing group.
  bool record_report = false;
  // Opens the trace again from its start, for a second run that finds where lost blocks went
  // missing (RunStats::lost_block_origins); unset: the report names the stretch of groups.
  std::function<std::unique_ptr<TraceReader>()> reopen;
  // Called as the replay goes (never decides anything: a run is the same without it).
  std::function<void(const ReplayProgress&)> progress;
};

struct RunStats {
  std::string trace;
  std::string format;
  std::string allocator;
  int group_size = 1;
  std::uint64_t ppr_every = 0;
  std::uint64_t seed = 0;
  std::string understudy;
  std::string faults;
  // The checks this run made: conflicts, contents, overlap always; census when the allocator
  // has the walks; verify at the paranoid level when it has verify().
  std::vector<std::string> checks;

  std::uint64_t events = 0;
  std::uint64_t groups = 0;
  std::uint64_t committed = 0;        // speculative tasks whose work was committed
  std::uint64_t aborted = 0;          // speculative tasks whose work was thrown away
  std::uint64_t understudy_wins = 0;
  std::uint64_t rescues = 0;          // tasks that gave up speculation (allocator rescue)
  std::uint64_t task_crashes = 0;     // tasks that faulted on a corrupted heap
  std::uint64_t serial_groups = 0;    // groups run serially (fork failed, carve refused)
  std::uint64_t split_groups = 0;     // groups halved because the carve was refused
  std::uint64_t fork_failures = 0;    // injected
  std::uint64_t injected_aborts = 0;  // tasks made to give up
  std::uint64_t refused_requests = 0; // system-memory requests refused (limit or injected)
  std::uint64_t pressure_retries = 0; // sequential calls made again after an injected refusal made them fail
  std::uint64_t forced_understudy_wins = 0;
  std::uint64_t reexecuted_instances = 0;
  std::uint64_t task_system_requests = 0;  // system-memory requests served inside tasks (in their slices)
  std::uint64_t reserved_bytes = 0;        // carved for tasks at group starts
  std::uint64_t task_allocated_bytes = 0;
  std::uint64_t task_grown_bytes = 0;      // system memory tasks obtained in their slices
  std::uint64_t adopted_bytes = 0;         // of which committed tasks' regions joined the heap

  // What the checks found (sim/findings.h): the verdict, the reports and the fuzz properties
  // read these. Conflicts are counted there and detailed here (task pairs, read or write).
  Findings findings;
  std::vector<Conflict> conflicts;  // at most ReplayConfig::max_conflict_details, spread (sim/conflict_sample.h)
  std::vector<ConflictPairCount> conflict_pairs;  // every conflict counted by task pair and class
  std::vector<std::pair<std::uint64_t, std::uint64_t>> conflict_groups;  // (group, conflicts), every group with any
  // The first group with an allocator-induced conflict or after which the heap check failed (-1: none).
  std::int64_t first_failing_group = -1;

  std::uint64_t heap_checks = 0;
  std::uint64_t full_heap_checks = 0;
  std::uint64_t final_live_objects = 0;
  std::uint64_t final_live_bytes = 0;
  std::uint64_t final_live_blocks = 0;  // blocks the last heap check found handed out
  std::uint64_t peak_system_bytes = 0;
  std::string failure;                // why the run stopped early, if it did
  StopKind stop = StopKind::None;     // the same, as a kind (its finding is in `findings`)
  // Lost blocks: the groups run at the last full check that found none and at the one that
  // found them (-1: none found), and where each went missing, found by a second run
  // (ReplayConfig::reopen); without one, a single entry (addr 0) names the stretch of groups.
  std::int64_t lost_since_group = -1;
  std::int64_t lost_found_group = -1;
  struct LostOrigin {
    std::uint64_t addr = 0;
    std::uint64_t size = 0;
    std::string where;  // "at the commit of group 2 (task 0 committed, then the merge)"
  };
  std::vector<LostOrigin> lost_block_origins;

  // The allocator paths the run exercised (alloc/probes.h), over every process.
  Coverage coverage;

  bool verified = false;  // no falsifying finding
  double seconds = 0;

  std::uint64_t count(FindingKind k) const { return findings.count(k); }
  // The kept findings that are the run's problems (not its stop, which `failure` says).
  std::vector<const Finding*> problems() const;

  // With ReplayConfig::record_report only.
  Timeline timeline;
  std::vector<HeapMap> heap_maps;
};

// Replays the whole trace. Throws TraceError on bad input, std::invalid_argument on a bad
// configuration, ResidentLimitExceeded when the simulation needs more real memory than
// cfg.max_resident.
RunStats replay(TraceReader& reader, const ReplayConfig& cfg);

std::string_view understudy_name(UnderstudyMode m);

}  // namespace pprsim
