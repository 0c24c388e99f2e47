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
#include "sim/group_run.h"
#include "sim/plugin_edges.h"
#include "sim/resident.h"
#include "sim/run_context.h"
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

class Replayer {
 public:
  Replayer(const TraceReader& reader, const ReplayConfig& cfg, LostSearch* search = nullptr) : run_(cfg, search) {
    RunStats& st = run_.st;
    const Process& main = run_.main();
    st.trace = reader.name();
    st.format = std::string(format_name(reader.format()));
    st.allocator = std::string(main.alloc->name());
    st.group_size = cfg.group_size;
    st.ppr_every = cfg.ppr_every;
    st.seed = cfg.seed;
    st.understudy = std::string(understudy_name(cfg.understudy));
    st.faults = cfg.faults.to_string();
    st.checks = {"conflicts", "contents", "overlap"};
    if (main.alloc->has_census()) st.checks.push_back("census");
    if (run_.paranoid && main.alloc->has_verify()) st.checks.push_back("verify");
  }

  // Make this run one that stops as group `group` starts, with a map of MAIN's heap then (the
  // "before" of a group whose failure only the heap check after it found).
  void map_before(std::int64_t group) { run_.map_before = group; }

  RunStats run(TraceReader& reader) {
    const auto t0 = std::chrono::steady_clock::now();
    set_call_time_limit(run_.cfg.call_time_limit);
    RunStats& st = run_.st;
    try {
      read_all(reader);
      if (st.failure.empty()) {
        run_.look_in_sequential_code();  // the sequential code after the last check, if any
        run_.check(true);
      }
    } catch (const MappedBefore&) {
      // A run that only maps MAIN's heap as a group starts (map_before): done there.
      st.heap_maps = std::move(run_.recorder.heap_maps());
      return std::move(st);
    } catch (const RunFailure& f) {
      run_.stop(f.kind, f.why);
    } catch (const AllocatorCrash& c) {
      run_.stop(c.hung() ? StopKind::Hang : StopKind::Crash,
                fmt::format("the allocator {} in {} {}: {}", c.hung() ? "hung" : "crashed", c.call(), run_.where_text(),
                            c.reason()));
    } catch (const MemoryFault& f) {
      const std::string call = run_.where.who.kind == Actor::Kind::HeapCheck ? std::string()
                                                                             : fmt::format(" in {}", run_.where.call());
      run_.stop(StopKind::Fault, fmt::format("the allocator faulted{} {}: {}", call, run_.where_text(), f.what()));
    } catch (const AllocatorFailure& f) {
      run_.stop(StopKind::Other, fmt::format("the allocator failed {}: {}", run_.where_text(), f.what()));
    }
    finish(st);
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return std::move(st);
  }

 private:
  // ---- Reading: the trace cut into SEQ events and groups of G instances (sim/trace_cut.h) ----

  void read_all(TraceReader& reader) {
    TraceCut cut(run_.cfg.group_size, run_.cfg.ppr_every, [this](const Event& e) { sequential(e); },
                 [this](std::vector<Instance>& group) { run_group(run_, group); });
    const ReplayConfig& cfg = run_.cfg;
    for (Event e; reader.next(e);) {
      if (is_operation(e.op) && ++run_.st.events % ReplayProgress::kEvery == 0 && cfg.progress) {
        cfg.progress({.events = run_.st.events,
                      .groups = run_.st.groups,
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
    run_.in_group = -1;
    if (run_.seq_from_line == 0) run_.seq_from_line = e.line;
    run_.seq_to_line = e.line;
    run_.run_seq(e);
    run_.model.apply(e);
    if (e.id >= 0) run_.oracle.touch(e.id);
    if (run_.pacer.sequential_event()) {
      run_.look_in_sequential_code();
      run_.check(false);
    }
  }

  // The run's end, whether it stopped early or not: the last heap map and what the run holds.
  void finish(RunStats& st) {
    Process& main = run_.main();
    // Also what tasks, the understudy and a serial re-run reached, so that a failure's "bytes in
    // use" never exceeds the peak reported beside it.
    run_.recorder.map_heap(main, st.failure.empty() ? "end of the run" : "where the run stopped", st.groups);
    st.timeline = std::move(run_.recorder.timeline());
    st.heap_maps = std::move(run_.recorder.heap_maps());
    st.conflicts = run_.sample.kept();
    st.conflict_pairs = run_.sample.pairs();
    st.conflict_groups.assign(run_.sample.per_group().begin(), run_.sample.per_group().end());
    st.peak_system_bytes = std::max(st.peak_system_bytes, main.sys.peak());
    st.final_live_objects = main.objects.size();
    st.final_live_bytes = main.objects.bytes();
    st.refused_requests = main.sys.refusals();
    st.verified = !st.findings.falsified();
  }

  RunContext run_;
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
  // The plugin's edge counters are the process's and only grow: this run's edges are those that
  // moved while it ran (sim/plugin_edges.h), creation and the last destroy() included.
  const EdgeSnapshot edges_before = edge_snapshot(cfg.allocator);
  {
    Replayer r(reader, cfg);
    s = r.run(reader);
  }
  add_edges_since(edges_before, s.coverage);
  count_the_rest(reader, s);
  if (s.count(FindingKind::LostBlock) != 0 && s.lost_since_group >= 0) locate_lost_blocks(s, cfg);
  if (cfg.record_report && s.first_failing_group >= 0) map_before_failing_group(s, cfg);
  return s;
}

}  // namespace pprsim
