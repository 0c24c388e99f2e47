// Whole-run properties over generated traces, group sizes, seeds, understudy settings and fault
// plans. dmmalloc and comalloc must hold them all; the shared control must be caught.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "props/run_case.h"
#include "sim/sim_allocator.h"

namespace pprsim {
namespace {

void holds_for(const std::string& allocator, RunCaseOptions opt) {
  const RunCase c = *gen_run_case(opt);
  const RunStats s = run_case(c, allocator);
  const std::vector<std::string> v = violations(c, s, allocator, false);
  if (!v.empty()) RC_FAIL(fmt::format("{}", fmt::join(v, "; ")));
}

bool known(const std::string& name) {
  const auto& names = allocator_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

RC_GTEST_PROP(RunProperties, DmMallocHoldsEveryProperty, ()) { holds_for("dmmalloc", {}); }

RC_GTEST_PROP(RunProperties, DmMallocHoldsThemUnderFaults, ()) {
  holds_for("dmmalloc", RunCaseOptions{.with_faults = true, .fixed_faults = {}});
}

RC_GTEST_PROP(RunProperties, ComallocHoldsEveryProperty, ()) {
  if (!known("comalloc")) RC_DISCARD("comalloc is not built");
  holds_for("comalloc", RunCaseOptions{.with_faults = true, .fixed_faults = {}});
}

RC_GTEST_PROP(RunProperties, SameSeedSameRun, ()) {
  const RunCase c = *gen_run_case(RunCaseOptions{.with_faults = true, .fixed_faults = {}});
  const RunStats s = run_case(c, "dmmalloc");
  const auto v = violations(c, s, "dmmalloc", true);
  RC_ASSERT(std::find(v.begin(), v.end(), "the same seed gave a different run") == v.end());
}

// The control allocator is not PPR-aware: RapidCheck must find a run where it conflicts, within
// its default number of tests.
TEST(RunProperties, SharedControlIsFalsified) {
  rc::detail::TestParams params;
  params.seed = 12345;
  const auto result = rc::detail::checkTestable([] {
    const RunCase c = *gen_run_case();
    const RunStats s = run_case(c, "shared");
    RC_ASSERT(s.findings.count(FindingKind::AllocatorInduced) == 0u);
  }, rc::detail::TestMetadata{}, params);
  rc::detail::FailureResult failure;
  ASSERT_TRUE(result.match(failure)) << "no counterexample found for the shared allocator";
  EXPECT_LT(failure.numSuccess, params.maxSuccess);
}

TEST(RunCase, ReplayCommandNamesEverythingNeeded) {
  RunCase c;
  c.group_size = 3;
  c.seed = 42;
  c.understudy = UnderstudyMode::Never;
  c.faults = FaultPlan::parse("oom=0.5");
  EXPECT_EQ(replay_command(c, "dmmalloc", "x.trace"),
            "pprsim replay x.trace --alloc dmmalloc --group-size 3 --seed 42 --understudy never --faults oom=0.5 "
            "--check-every 1");
}

TEST(FaultPlan, ParsesAndPrintsBack) {
  const FaultPlan p = FaultPlan::parse("task-abort=0.05,oom=0.01,fork-fail=0.1,understudy-win=0.3,pressure=0.2");
  EXPECT_EQ(p.pressure, 200000u);
  EXPECT_EQ(p.task_abort, 50000u);
  EXPECT_EQ(p.oom, 10000u);
  EXPECT_EQ(p.fork_fail, 100000u);
  EXPECT_EQ(p.understudy_win, 300000u);
  EXPECT_EQ(FaultPlan::parse(p.to_string()), p);
  EXPECT_EQ(FaultPlan::parse("oom=1").oom, FaultPlan::kOne);
  EXPECT_FALSE(FaultPlan::parse("").any());
  for (const char* bad : {"oom", "oom=", "oom=1.5", "oom=-0.1", "oom=0.1234567", "nosuch=0.1", "oom=0.1,", "oom=abc"}) {
    EXPECT_THROW(FaultPlan::parse(bad), std::invalid_argument) << bad;
  }
}

}  // namespace
}  // namespace pprsim
