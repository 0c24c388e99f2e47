// The trace minimizer: repairs, id renaming, explicit instances, and 1-minimality of what it
// returns, on synthetic failure tests (fast) and on a real allocator failure.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <sstream>

#include "props/minimize.h"
#include "props/tests/test_support.h"
#include "traces/trace_reader.h"
#include "traces/trace_writer.h"

namespace pprsim {
namespace {

std::vector<Event> parse(const std::string& body) {
  std::istringstream in("pprtrace 1\n" + body);
  auto r = read_native(in, "test.trace");
  std::vector<Event> out;
  Event e;
  while (r->next(e)) out.push_back(e);
  return out;
}

std::string text(std::vector<Event> t) {
  std::ostringstream os;
  for (Event& e : t) os << format_event(e) << "\n";
  return os.str();
}

// The trace is valid in the native format (the reader's validator accepts it).
bool valid(const std::vector<Event>& t) {
  std::ostringstream os;
  TraceWriter w(os);
  for (const Event& e : t) w.write(e);
  std::istringstream in(os.str());
  try {
    auto r = read_native(in, "candidate");
    Event e;
    while (r->next(e)) {
    }
    return true;
  } catch (const TraceError&) {
    return false;
  }
}

TEST(RepairTrace, DropsEventsOnDeadObjectsAndClampsAccesses) {
  const std::vector<Event> broken = {
      {.op = Op::Malloc, .id = 1, .size = 8},
      {.op = Op::Write, .id = 1, .size = 8, .offset = 4},  // runs past the end: clamped to 4
      {.op = Op::Free, .id = 2},                           // never allocated: dropped
      {.op = Op::Use, .id = 3, .size = 1},                 // never allocated: dropped
      {.op = Op::PprEnd},                                  // no instance open: dropped
      {.op = Op::PprBegin},
      {.op = Op::Malloc, .id = 1, .size = 4},  // id 1 is live: dropped
      {.op = Op::Realloc, .id = 5, .size = 3},  // realloc(NULL): creates 5
  };
  EXPECT_EQ(text(repair_trace(broken, false)), "a 1 8\nw 1 4 4\nppr\nr 5 3\nend\n");
  EXPECT_EQ(text(repair_trace(broken, true)), "a 1 8\nw 1 4 4\nppr\nr 5 3\nend\nf 1\nf 5\n");
}

TEST(FreshIds, EveryIncarnationGetsItsOwnId) {
  const auto t = parse("a 7 8\nf 7\na 7 16\nw 7 0 16\nr 7 0\nr 7 4\nf -1\n");
  EXPECT_EQ(text(fresh_ids(t)), "a 0 8\nf 0\na 1 16\nw 1 0 16\nr 1 0\nr 2 4\nf -1\n");
}

TEST(WithPprMarkers, CutsAsReplayDoes) {
  const auto t = parse("ppr\na 0 8\nw 0 0 8\nend\na 1 8\nf 0\nf 1\n");
  EXPECT_EQ(text(with_ppr_markers(t, 2)), "ppr\na 0 8\nw 0 0 8\na 1 8\nend\nppr\nf 0\nf 1\nend\n");
}

TEST(WithPprMarkers, ExplicitInstancesReplayLikeTheCut) {
  PPRSIM_REQUIRE_CSAPP(dir);
  auto reader = open_trace((dir / "short1-bal.rep").string());
  std::vector<Event> events;
  Event e;
  while (reader->next(e)) events.push_back(e);
  std::ostringstream os;
  TraceWriter w(os);
  for (const Event& ev : with_ppr_markers(events, 10)) w.write(ev);
  const RunStats marked = test::replay_text(os.str(), test::config("dmmalloc", 4));
  auto again = open_trace((dir / "short1-bal.rep").string());
  const RunStats cut = replay(*again, test::config("dmmalloc", 4, 10));
  EXPECT_EQ(marked.groups, cut.groups);
  EXPECT_EQ(marked.committed, cut.committed);
  EXPECT_EQ(marked.aborted, cut.aborted);
  EXPECT_EQ(marked.findings.count(FindingKind::TrueDependence), cut.findings.count(FindingKind::TrueDependence));
  EXPECT_EQ(marked.events, cut.events);
}

// A failure that needs a malloc of at least 100 bytes, and a free of another object inside a
// PPR instance: the minimal traces have exactly those two allocations, the free and the markers.
bool synthetic_failure(const std::vector<Event>& t) {
  bool big = false, inside = false, free_inside = false;
  for (const Event& e : t) {
    if (e.op == Op::PprBegin) inside = true;
    if (e.op == Op::PprEnd) inside = false;
    if (e.op == Op::Malloc && e.size >= 100) big = true;
    if (e.op == Op::Free && e.id >= 0 && inside) free_inside = true;
  }
  return big && free_inside;
}

RC_GTEST_PROP(Minimize, ResultStillFailsIsValidAndOneMinimal, ()) {
  // Random operations (made valid by the repair) around the few that make the failure.
  const auto noise = rc::gen::container<std::vector<Event>>(rc::gen::apply(
      [](int op, std::int64_t id, std::uint64_t size) {
        return Event{.op = static_cast<Op>(op), .id = id, .size = size, .count = 1, .align = 16};
      },
      rc::gen::inRange(static_cast<int>(Op::Malloc), static_cast<int>(Op::Use) + 1), rc::gen::inRange<std::int64_t>(0, 6), rc::gen::inRange<std::uint64_t>(0, 300)));
  std::vector<Event> raw = *noise;
  raw.push_back({.op = Op::Malloc, .id = 50, .size = *rc::gen::inRange<std::uint64_t>(100, 5000)});
  raw.push_back({.op = Op::Malloc, .id = 51, .size = 8});
  for (const Event& e : *noise) raw.push_back(e);
  raw.push_back({.op = Op::PprBegin});
  for (const Event& e : *noise) raw.push_back(e);
  raw.push_back({.op = Op::Free, .id = 51});
  for (const Event& e : *noise) raw.push_back(e);
  const std::vector<Event> trace = repair_trace(raw, false);
  RC_ASSERT(synthetic_failure(trace));
  MinimizeOptions opt;
  opt.group_size = 2;
  const MinimizeResult r = minimize_trace(trace, synthetic_failure, opt);
  RC_ASSERT(r.reproduced);
  RC_ASSERT(r.minimal);
  RC_ASSERT(synthetic_failure(r.trace));
  RC_ASSERT(valid(r.trace));
  // 1-minimal: no single event, and no marker pair, can go.
  for (std::size_t i = 0; i < r.trace.size(); ++i) {
    std::vector<Event> less = r.trace;
    less.erase(less.begin() + static_cast<std::ptrdiff_t>(i));
    const std::vector<Event> repaired = repair_trace(less, false);
    if (repaired.size() < r.trace.size()) RC_ASSERT(!synthetic_failure(repaired));
  }
  const std::size_t ops = static_cast<std::size_t>(
      std::count_if(r.trace.begin(), r.trace.end(), [](const Event& e) { return is_operation(e.op); }));
  RC_ASSERT(ops == 2u || ops == 3u);  // the big object may be the one freed
}

TEST(Minimize, SameInputSameResult) {
  const auto t = parse("a 0 300\na 1 8\nppr\nw 0 0 300\nf 1\na 2 5\nend\nppr\nu 0 0 1\nend\nf 0\nf 2\n");
  MinimizeOptions opt;
  const MinimizeResult a = minimize_trace(t, synthetic_failure, opt);
  const MinimizeResult b = minimize_trace(t, synthetic_failure, opt);
  EXPECT_EQ(text(a.trace), text(b.trace));
  EXPECT_EQ(a.tests, b.tests);
  // Sizes are halved while the failure holds: 300 -> 150 (75 would pass).
  EXPECT_EQ(text(a.trace), "a 0 150\na 1 0\nppr\nf 1\nend\n");
}

TEST(Minimize, AnInputThatPassesIsNotReproduced) {
  const auto t = parse("a 0 8\nf 0\n");
  const MinimizeResult r = minimize_trace(t, synthetic_failure, MinimizeOptions{});
  EXPECT_FALSE(r.reproduced);
  EXPECT_EQ(r.tests, 1u);
}

TEST(Minimize, StopsAtTheTestBudget) {
  const auto t = parse("a 0 300\na 1 8\nppr\nw 0 0 300\nf 1\na 2 5\nend\nppr\nu 0 0 1\nend\nf 0\nf 2\n");
  MinimizeOptions opt;
  opt.max_tests = 3;
  const MinimizeResult r = minimize_trace(t, synthetic_failure, opt);
  EXPECT_EQ(r.tests, 3u);
  EXPECT_FALSE(r.minimal);
  EXPECT_TRUE(synthetic_failure(r.trace));
}

TEST(FailureKinds, AreTheRunsFalsifyingFindingsInKindOrder) {
  RunStats s;
  EXPECT_TRUE(failure_kinds(s).empty());
  s.findings.tally(FindingKind::TrueDependence);  // the program's own: no failure
  EXPECT_TRUE(failure_kinds(s).empty());
  s.findings.add({.kind = FindingKind::DoubleAllocation, .text = "live block 0x1000 is also on a free list"});
  EXPECT_EQ(failure_kinds(s), std::vector<FindingKind>{FindingKind::DoubleAllocation});
  RunStats crash;
  crash.findings.add({.kind = FindingKind::Fault, .line = 3, .text = "the allocator faulted in malloc at line 3"});
  crash.findings.add({.kind = FindingKind::LostBlock, .text = "free block 0x2000 (32 bytes) is on no free list: lost"});
  EXPECT_EQ(failure_kinds(crash), (std::vector<FindingKind>{FindingKind::LostBlock, FindingKind::Fault}));
  RunStats grew;  // growth inside tasks is theirs to do, in their own slices
  grew.task_system_requests = 2;
  EXPECT_TRUE(failure_kinds(grew).empty());
  grew.findings.add({.kind = FindingKind::OutsideSlice, .task = 1, .text = "task 1 obtained system memory outside"});
  EXPECT_EQ(failure_kinds(grew), std::vector<FindingKind>{FindingKind::OutsideSlice});
  // Blocks left handed out count only where the trace freed everything (a rule of fuzz).
  RunStats left;
  left.final_live_blocks = 3;
  EXPECT_TRUE(failure_kinds(left).empty());
  EXPECT_EQ(failure_kinds(left, FailureRules{.all_freed_at_end = true}),
            std::vector<FindingKind>{FindingKind::LeftHandedOut});
}

}  // namespace
}  // namespace pprsim
