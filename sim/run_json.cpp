#include "sim/run_json.h"

#include "sim/coverage_report.h"

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <variant>

namespace pprsim {

namespace {

nlohmann::ordered_json timeline_json(const Timeline& t) {
  auto entries = nlohmann::ordered_json::array();
  for (const Timeline::Entry& e : t.entries()) {
    if (const auto* g = std::get_if<GroupRecord>(&e)) {
      auto tasks = nlohmann::ordered_json::array();
      for (const TaskRecord& k : g->tasks) {
        tasks.push_back({{"task", k.task}, {"first_line", k.first_line}, {"last_line", k.last_line}, {"outcome", k.outcome}});
      }
      entries.push_back({{"group", g->group},
                         {"first_line", g->first_line},
                         {"last_line", g->last_line},
                         {"serial", g->serial},
                         {"understudy", g->understudy},
                         {"conflicts", g->conflicts},
                         {"tasks", std::move(tasks)}});
    } else {
      const auto& f = std::get<FoldRecord>(e);
      entries.push_back({{"folded", f.groups},
                         {"first_group", f.first_group},
                         {"last_group", f.last_group},
                         {"first_line", f.first_line},
                         {"last_line", f.last_line},
                         {"not_shown", f.not_shown},
                         {"conflicts", f.conflicts}});
    }
  }
  // The whole run in bins of bin_groups groups: [first_group, last_group, first_line, last_line,
  // groups, committed, aborted, serial, conflicts, live_bytes, system_bytes].
  auto bins = nlohmann::ordered_json::array();
  for (const OverviewBin& b : t.overview().bins()) {
    bins.push_back({b.first_group, b.last_group, b.first_line, b.last_line, b.groups, b.committed, b.aborted, b.serial,
                    b.conflicts, b.live_bytes, b.system_bytes});
  }
  return {{"shown_groups", t.shown()},
          {"folded_groups", t.folded()},
          {"not_shown", t.not_shown()},
          {"entries", std::move(entries)},
          {"overview", {{"bin_groups", t.overview().width()}, {"bins", std::move(bins)}}}};
}

nlohmann::ordered_json heap_map_json(const HeapMap& m) {
  auto regions = nlohmann::ordered_json::array();
  for (const RegionMap& r : m.regions) {
    auto runs = nlohmann::ordered_json::array();
    // [offset, size, state, task, blocks]: compact, a heap map can hold thousands.
    for (const HeapRun& u : r.runs) runs.push_back({u.offset, u.size, u.state, u.task, u.blocks});
    regions.push_back({{"addr", fmt::format("{:#x}", r.base)}, {"size", r.size}, {"runs", std::move(runs)}});
  }
  return {{"when", m.when},     {"group", m.group},           {"walked", m.walked},
          {"truncated", m.truncated}, {"live_blocks", m.live_blocks}, {"free_blocks", m.free_blocks},
          {"failed_blocks", m.failed_blocks}, {"regions", std::move(regions)}};
}

// Where lost blocks went missing, a line per place: the blocks of one place together, the
// first few addresses shown.
void print_lost_origins(std::ostream& out, const std::vector<RunStats::LostOrigin>& origins) {
  constexpr std::size_t kShown = 4;
  for (std::size_t i = 0; i < origins.size();) {
    std::size_t k = i;
    std::vector<std::string> addrs;
    for (; k < origins.size() && origins[k].where == origins[i].where; ++k) {
      if (origins[k].addr != 0 && addrs.size() < kShown) addrs.push_back(fmt::format("{:#x}", origins[k].addr));
    }
    const std::size_t n = k - i;
    if (addrs.empty()) {
      fmt::print(out, "  lost: went missing {}\n", origins[i].where);
    } else {
      fmt::print(out, "  lost: {} block{} went missing {}: {}{}\n", n, n == 1 ? "" : "s", origins[i].where,
                 fmt::join(addrs, ", "), n > addrs.size() ? ", ..." : "");
    }
    i = k;
  }
}

}  // namespace

nlohmann::ordered_json findings_json(const Findings& f) {
  nlohmann::ordered_json counts = nlohmann::ordered_json::object();
  for (std::size_t k = 0; k < kFindingKinds; ++k) {
    const auto kind = static_cast<FindingKind>(k);
    if (f.count(kind) != 0) counts[std::string(finding_info(kind).key)] = f.count(kind);
  }
  auto first = nlohmann::ordered_json::array();
  for (const Finding& x : f.kept()) {
    first.push_back({{"kind", finding_info(x.kind).key},
                     {"group", x.group},
                     {"task", x.task},
                     {"line", x.line},
                     {"addr", fmt::format("{:#x}", x.addr)},
                     {"object", x.object},
                     {"text", x.text}});
  }
  return {{"counts", std::move(counts)}, {"first", std::move(first)}};
}

nlohmann::ordered_json run_to_json(const RunStats& s) {
  nlohmann::ordered_json j;
  j["trace"] = s.trace;
  j["format"] = s.format;
  j["allocator"] = s.allocator;
  j["group_size"] = s.group_size;
  j["ppr_every"] = s.ppr_every;
  j["seed"] = s.seed;
  j["understudy"] = s.understudy;
  j["faults"] = s.faults;
  j["events"] = s.events;
  j["groups"] = s.groups;
  j["committed"] = s.committed;
  j["aborted"] = s.aborted;
  j["understudy_wins"] = s.understudy_wins;
  j["rescues"] = s.rescues;
  j["task_crashes"] = s.task_crashes;
  j["serial_groups"] = s.serial_groups;
  j["split_groups"] = s.split_groups;
  j["fork_failures"] = s.fork_failures;
  j["injected_aborts"] = s.injected_aborts;
  j["refused_requests"] = s.refused_requests;
  if (s.pressure_retries != 0) j["pressure_retries"] = s.pressure_retries;
  j["forced_understudy_wins"] = s.forced_understudy_wins;
  j["reexecuted_instances"] = s.reexecuted_instances;
  j["task_system_requests"] = s.task_system_requests;
  j["reserved_bytes"] = s.reserved_bytes;
  j["task_allocated_bytes"] = s.task_allocated_bytes;
  j["task_grown_bytes"] = s.task_grown_bytes;
  j["adopted_bytes"] = s.adopted_bytes;
  j["regions_outside_slice"] = s.count(FindingKind::OutsideSlice);
  j["conflicts"] = {{"allocator_induced", s.count(FindingKind::AllocatorInduced)},
                    {"true_dependence", s.count(FindingKind::TrueDependence)}};
  auto details = nlohmann::ordered_json::array();
  for (const Conflict& c : s.conflicts) {
    details.push_back({{"group", c.group},
                       {"first_task", c.first_task},
                       {"second_task", c.second_task},
                       {"kind", kind_name(c.kind)},
                       {"class", class_name(c.cls)},
                       {"addr", fmt::format("{:#x}", c.addr)},
                       {"len", c.len},
                       {"what", c.what},
                       {"first_line", c.first_line},
                       {"second_line", c.second_line}});
  }
  j["conflicts_detail"] = std::move(details);
  // Every conflict counted, beside the sample above: by [first_task, second_task, class, count,
  // kept] and by [group, count].
  auto pairs = nlohmann::ordered_json::array();
  for (const ConflictPairCount& p : s.conflict_pairs) {
    pairs.push_back({p.first_task, p.second_task, class_name(p.cls), p.count, p.kept});
  }
  auto groups = nlohmann::ordered_json::array();
  for (const auto& [g, n] : s.conflict_groups) groups.push_back({g, n});
  j["conflict_counts"] = {{"kept", s.conflicts.size()}, {"by_pair", std::move(pairs)}, {"by_group", std::move(groups)}};
  j["first_failing_group"] = s.first_failing_group;
  j["heap_checks"] = s.heap_checks;
  j["full_heap_checks"] = s.full_heap_checks;
  j["lost_blocks"] = s.count(FindingKind::LostBlock);
  // Two live objects sharing bytes is one way of handing bytes out twice.
  j["double_allocations"] = s.count(FindingKind::DoubleAllocation) + s.count(FindingKind::Overlap);
  j["content_mismatches"] = s.count(FindingKind::ContentMismatch);
  j["final_live_objects"] = s.final_live_objects;
  j["final_live_bytes"] = s.final_live_bytes;
  j["final_live_blocks"] = s.final_live_blocks;
  j["peak_system_bytes"] = s.peak_system_bytes;
  auto problems = nlohmann::ordered_json::array();
  for (const Finding* f : s.problems()) problems.push_back(f->text);
  j["problems"] = std::move(problems);
  nlohmann::ordered_json origins = nlohmann::ordered_json::array();
  for (const RunStats::LostOrigin& o : s.lost_block_origins) {
    origins.push_back({{"addr", o.addr}, {"size", o.size}, {"where", o.where}});
  }
  j["lost_block_origins"] = std::move(origins);
  j["failure"] = s.failure;
  j["stop"] = std::string(stop_kind_name(s.stop));
  j["findings"] = findings_json(s.findings);
  j["checks"] = s.checks;
  j["coverage"] = coverage_json(s.coverage, s.allocator);
  j["verified"] = s.verified;
  j["seconds"] = s.seconds;
  if (!s.heap_maps.empty()) {
    j["timeline"] = timeline_json(s.timeline);
    auto maps = nlohmann::ordered_json::array();
    for (const HeapMap& m : s.heap_maps) maps.push_back(heap_map_json(m));
    j["heap_maps"] = std::move(maps);
  }
  return j;
}

void print_summary(std::ostream& out, const RunStats& s) {
  fmt::print(out, "{}: {} with {}, group size {}{}, seed {}\n", s.trace, s.verified ? "VERIFIED" : "FAILED",
             s.allocator, s.group_size, s.ppr_every > 0 ? fmt::format(", a PPR every {} events", s.ppr_every) : "",
             s.seed);
  fmt::print(out, "  {} events, {} groups: {} tasks committed, {} aborted, {} understudy wins, {} rescues\n",
             s.events, s.groups, s.committed, s.aborted, s.understudy_wins, s.rescues);
  if (!s.faults.empty()) {
    fmt::print(out, "  faults {}: {} fork failures, {} tasks aborted, {} requests refused, {} forced understudy wins, {} groups split{}\n",
               s.faults, s.fork_failures, s.injected_aborts, s.refused_requests, s.forced_understudy_wins,
               s.split_groups,
               s.pressure_retries != 0 ? fmt::format(", {} calls made again", s.pressure_retries) : "");
  }
  if (s.groups > 0) {
    fmt::print(out, "  carve reserved {} bytes, tasks allocated {} bytes, grew {} bytes in their slices, {} adopted at commit\n",
               s.reserved_bytes, s.task_allocated_bytes, s.task_grown_bytes, s.adopted_bytes);
  }
  fmt::print(out, "  conflicts: {} allocator-induced, {} true dependences\n", s.count(FindingKind::AllocatorInduced),
             s.count(FindingKind::TrueDependence));
  fmt::print(out, "  oracle: {} heap checks, {} lost blocks, {} double allocations, {} content mismatches\n",
             s.heap_checks, s.count(FindingKind::LostBlock),
             s.count(FindingKind::DoubleAllocation) + s.count(FindingKind::Overlap), s.count(FindingKind::ContentMismatch));
  if (!s.verified) {
    // Every kind found, in the order shrink keeps them (conflicts have their own line above).
    std::vector<std::string> found;
    for (std::size_t k = 0; k < kFindingKinds; ++k) {
      const auto kind = static_cast<FindingKind>(k);
      if (kind == FindingKind::AllocatorInduced || kind == FindingKind::TrueDependence || s.count(kind) == 0) continue;
      found.push_back(fmt::format("{} {}", s.count(kind), finding_info(kind).name));
    }
    if (!found.empty()) fmt::print(out, "  findings: {}\n", fmt::join(found, ", "));
  }
  fmt::print(out, "  final heap: {} live objects, {} bytes; peak system memory {} bytes\n", s.final_live_objects,
             s.final_live_bytes, s.peak_system_bytes);
  if (std::find(s.checks.begin(), s.checks.end(), "census") == s.checks.end()) {
    fmt::print(out, "  checks: {} (no census: the allocator has no walks)\n", fmt::join(s.checks, ", "));
  } else if (std::find(s.checks.begin(), s.checks.end(), "verify") != s.checks.end()) {
    fmt::print(out, "  checks: {}\n", fmt::join(s.checks, ", "));
  }
  print_coverage(out, s.coverage, s.allocator);
  if (s.group_size > 1 && s.groups == 0 && s.events > 0) {
    fmt::print(out, "  note: the trace has no PPR markers; cut it into PPR instances with --ppr-every N\n");
  }
  if (!s.conflicts.empty()) {
    fmt::print(out, "conflict report:\n");
    for (const Conflict& c : s.conflicts) {
      fmt::print(out, "  group {}: task {} {} task {} ({}, {}): {} bytes at {:#x}: {}; lines {} and {}\n", c.group,
                 c.second_task, c.kind == Conflict::Kind::Raw ? "read what was written by" : "overwrote what was written by",
                 c.first_task,
                 c.cls == Conflict::Class::AllocatorInduced ? "allocator-induced" : "true dependence",
                 kind_name(c.kind), c.len, c.addr, c.what, c.first_line, c.second_line);
    }
    const std::uint64_t total = s.count(FindingKind::AllocatorInduced) + s.count(FindingKind::TrueDependence);
    if (total > s.conflicts.size()) fmt::print(out, "  ... and {} more\n", total - s.conflicts.size());
  }
  for (const Finding* p : s.problems()) fmt::print(out, "  problem: {}\n", p->text);
  print_lost_origins(out, s.lost_block_origins);
  if (!s.failure.empty()) fmt::print(out, "  stopped: {}\n", s.failure);
}

void print_comparison(std::ostream& out, const std::vector<RunStats>& runs) {
  fmt::print(out, "{:<24} {:<9} {:<9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>12} {:>12}\n", "trace", "allocator",
             "verdict", "alloc-ind", "true-dep", "committed", "aborted", "rescues", "reserved", "allocated");
  for (const RunStats& s : runs) {
    std::string name = s.trace;
    if (const auto slash = name.find_last_of('/'); slash != std::string::npos) name = name.substr(slash + 1);
    fmt::print(out, "{:<24} {:<9} {:<9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>12} {:>12}\n", name, s.allocator,
               s.verified ? "verified" : "FAILED", s.count(FindingKind::AllocatorInduced),
               s.count(FindingKind::TrueDependence), s.committed, s.aborted,
               s.rescues, s.reserved_bytes, s.task_allocated_bytes);
  }
}

}  // namespace pprsim
