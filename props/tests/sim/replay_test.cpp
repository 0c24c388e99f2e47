// The replay's commit paths, each checked by the oracle: clean commit, read-after-write abort,
// rescue in MAIN, rescue in a later task, understudy win; the exact true-dependence report;
// determinism; and every CS:APP trace sequentially and in groups.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "props/tests/test_support.h"
#include "sim/replay.h"

namespace pprsim {
using pprsim::test::handed_out_twice;
using pprsim::test::problem_texts;
namespace {

using test::config;
using test::replay_text;

constexpr const char* kIndependent = R"(pprtrace 1
a 1 64
ppr
a 10 100
w 10 0 8
end
ppr
a 20 100
w 1 0 8
end
)";

TEST(ReplayCommit, IndependentTasksCommitCleanly) {
  const RunStats s = replay_text(kIndependent, config("dmmalloc", 2, 0, 1, UnderstudyMode::Never));
  EXPECT_TRUE(s.verified) << s.failure;
  EXPECT_EQ(s.groups, 1u);
  EXPECT_EQ(s.committed, 2u);
  EXPECT_EQ(s.aborted, 0u);
  EXPECT_EQ(s.rescues, 0u);
  EXPECT_EQ(s.findings.count(FindingKind::AllocatorInduced) + s.findings.count(FindingKind::TrueDependence), 0u);
  EXPECT_EQ(s.final_live_objects, 3u);
  EXPECT_GE(s.heap_checks, 2u);
}

constexpr const char* kTrueDependence = R"(pprtrace 1
a 1 64
ppr
w 1 0 8
end
ppr
u 1 0 8
end
)";

TEST(ReplayCommit, ReadAfterWriteAbortsTheLaterTaskAndNamesTheDependence) {
  for (UnderstudyMode u : {UnderstudyMode::Never, UnderstudyMode::Auto, UnderstudyMode::Always}) {
    const RunStats s = replay_text(kTrueDependence, config("dmmalloc", 2, 0, 1, u));
    EXPECT_TRUE(s.verified) << s.failure;
    ASSERT_EQ(s.findings.count(FindingKind::TrueDependence), 1u);
    EXPECT_EQ(s.findings.count(FindingKind::AllocatorInduced), 0u);
    ASSERT_EQ(s.conflicts.size(), 1u);
    const Conflict& c = s.conflicts.front();
    EXPECT_EQ(c.group, 0);
    EXPECT_EQ(c.first_task, 0);
    EXPECT_EQ(c.second_task, 1);
    EXPECT_EQ(c.kind, Conflict::Kind::Raw);
    EXPECT_EQ(c.cls, Conflict::Class::TrueDependence);
    EXPECT_EQ(c.len, 8u);
    EXPECT_NE(c.what.find("object 1"), std::string::npos) << c.what;
    EXPECT_EQ(c.first_line, 4u);
    EXPECT_EQ(c.second_line, 7u);
    if (u == UnderstudyMode::Never) {
      EXPECT_EQ(s.committed, 1u);
      EXPECT_EQ(s.aborted, 1u);
      EXPECT_EQ(s.reexecuted_instances, 1u);
    }
  }
}

TEST(ReplayCommit, HandleWrittenByAnEarlierTaskIsATrueDependence) {
  const RunStats s = replay_text(R"(pprtrace 1
a 9 16
ppr
a 5 16
end
ppr
f 5
end
)", config("dmmalloc", 2, 0, 1, UnderstudyMode::Never));
  EXPECT_TRUE(s.verified) << s.failure;
  ASSERT_EQ(s.conflicts.size(), 1u);
  EXPECT_NE(s.conflicts[0].what.find("handle slot of object 5"), std::string::npos);
  EXPECT_EQ(s.final_live_objects, 1u);
}

constexpr const char* kMainRescue = R"(pprtrace 1
a 1 64
ppr
a 10 1000000
end
ppr
a 20 100
end
)";

// A task grows into its own slice of address space; an object larger than the slice is a rescue.
ReplayConfig small_slices(ReplayConfig cfg) {
  cfg.task_slice = 512 << 10;
  return cfg;
}

TEST(ReplayCommit, RescueInMainHandsTheGroupToTheUnderstudy) {
  const RunStats s = replay_text(kMainRescue, small_slices(config("dmmalloc", 2, 0, 1, UnderstudyMode::Auto)));
  EXPECT_TRUE(s.verified) << s.failure;
  EXPECT_EQ(s.rescues, 1u);
  EXPECT_EQ(s.understudy_wins, 1u);
  EXPECT_EQ(s.committed, 0u);
  EXPECT_EQ(s.final_live_objects, 3u);
}

TEST(ReplayCommit, RescueInMainWithoutUnderstudyReRunsTheGroup) {
  const RunStats s = replay_text(kMainRescue, small_slices(config("dmmalloc", 2, 0, 1, UnderstudyMode::Never)));
  EXPECT_TRUE(s.verified) << s.failure;
  EXPECT_EQ(s.rescues, 1u);
  EXPECT_EQ(s.understudy_wins, 0u);
  EXPECT_EQ(s.committed, 0u);
  EXPECT_EQ(s.reexecuted_instances, 2u);
}

TEST(ReplayCommit, RescueInALaterTaskCutsTheGroupThere) {
  const RunStats s = replay_text(R"(pprtrace 1
a 1 64
ppr
a 10 100
end
ppr
a 20 1000000
end
ppr
a 30 100
end
)", small_slices(config("dmmalloc", 3, 0, 1, UnderstudyMode::Never)));
  EXPECT_TRUE(s.verified) << s.failure;
  EXPECT_EQ(s.rescues, 1u);
  EXPECT_EQ(s.committed, 1u);
  EXPECT_EQ(s.aborted, 2u);
  EXPECT_EQ(s.reexecuted_instances, 2u);
  EXPECT_EQ(s.final_live_objects, 4u);
}

TEST(ReplayCommit, ATaskGrowsIntoItsSliceInsteadOfGivingUp) {
  for (const char* alloc : {"dmmalloc", "comalloc"}) {
    const RunStats s = replay_text(kMainRescue, config(alloc, 2, 0, 1, UnderstudyMode::Never));
    EXPECT_TRUE(s.verified) << alloc << ": " << s.failure;
    EXPECT_EQ(s.rescues, 0u) << alloc;
    EXPECT_EQ(s.committed, 2u) << alloc;
    EXPECT_GE(s.task_grown_bytes, 1000000u) << alloc;
    EXPECT_EQ(s.adopted_bytes, s.task_grown_bytes) << alloc << ": both tasks committed";
    EXPECT_EQ(s.final_live_objects, 3u) << alloc;
  }
}

TEST(ReplayCommit, UnderstudyWinReplacesSpeculation) {
  const RunStats s = replay_text(kIndependent, config("dmmalloc", 2, 0, 1, UnderstudyMode::Always));
  EXPECT_TRUE(s.verified) << s.failure;
  EXPECT_EQ(s.understudy_wins, 1u);
  EXPECT_EQ(s.committed, 0u);
  EXPECT_EQ(s.final_live_objects, 3u);
}

// Four objects of `bytes` each kept live, then 64 groups of two small PPRs.
std::string kept_heap_then_groups(std::uint64_t bytes) {
  std::string t = "pprtrace 1\n";
  for (int id = 1; id <= 4; ++id) t += fmt::format("a {} {}\n", id, bytes);
  for (int id = 100; id < 100 + 128; ++id) t += fmt::format("ppr\na {} 16\nw {} 0 8\nf {}\nend\n", id, id, id);
  return t;
}

// A full check reads every live byte, so it waits for events to pay for them as well as for
// the objects: four objects of 1 MiB are checked in full once among 64 small groups (the 16th
// check, before a full check has measured them) and at the end; four of 64 bytes every 16th
// check.
TEST(ReplayChecks, AFullCheckWaitsForEventsToPayForTheBytesItReads) {
  const RunStats big = replay_text(kept_heap_then_groups(1 << 20), config("dmmalloc", 2));
  EXPECT_TRUE(big.verified) << big.failure;
  EXPECT_EQ(big.groups, 64u);
  EXPECT_EQ(big.full_heap_checks, 2u);
  const RunStats small = replay_text(kept_heap_then_groups(64), config("dmmalloc", 2));
  EXPECT_TRUE(small.verified) << small.failure;
  EXPECT_EQ(small.groups, 64u);
  EXPECT_EQ(small.full_heap_checks, 5u);
}

TEST(ReplayErrors, GroupSizeOutOfRangeIsRejected) {
  EXPECT_THROW(replay_text(kIndependent, config("dmmalloc", 0)), std::invalid_argument);
  EXPECT_THROW(replay_text(kIndependent, config("nosuch", 1)), std::invalid_argument);
}

TEST(ReplayShared, TheControlAllocatorLosesBlocksAtCommit) {
  // Both tasks free a block of the same class from before the group: each links its own block
  // in front of the same list head, and only the last committed task's list head survives.
  const RunStats s = replay_text(R"(pprtrace 1
a 1 40
a 2 40
a 3 40
ppr
f 1
end
ppr
f 2
end
)", config("shared", 2, 0, 1, UnderstudyMode::Never));
  EXPECT_FALSE(s.verified);
  EXPECT_GE(s.findings.count(FindingKind::LostBlock), 1u);
}

// Both tasks get the same block: the report splits the bytes both wrote where what they are
// changes (the header, the payload two objects share, the top of the heap after it), each
// named once for all its bytes.
TEST(ReplayShared, ABlockHandedToTwoTasksIsReportedApartFromItsHeader) {
  const RunStats s = replay_text("pprtrace 1\nppr\na 1 48\nend\nppr\na 2 48\nend\n",
                                 config("shared", 2, 0, 1, UnderstudyMode::Never));
  ASSERT_EQ(s.conflicts.size(), 3u);
  const std::vector<std::tuple<Addr, std::uint64_t, std::string>> want{
      {0x10000000000, 16, "size class 2 (64 B) size/flags word in block header at 0x10000000000"},
      {0x10000000010, 48, "block handed out twice: object 1 (line 3) in the first task, object 2 (line 6) in the second"},
      {0x10000000040, 16, "unused top of the heap at 0x10000000040"}};
  for (std::size_t i = 0; i < want.size(); ++i) {
    const Conflict& c = s.conflicts[i];
    EXPECT_EQ(std::tie(c.addr, c.len, c.what), std::tie(std::get<0>(want[i]), std::get<1>(want[i]), std::get<2>(want[i])))
        << i << ": " << c.what;
    EXPECT_EQ(c.kind, Conflict::Kind::Waw);
    EXPECT_EQ(c.cls, Conflict::Class::AllocatorInduced);
  }
}

// ---- The CS:APP traces. ----

class CsApp : public ::testing::TestWithParam<int> {};

TEST_P(CsApp, EveryTraceVerifies) {
  PPRSIM_REQUIRE_CSAPP(dir);
  const int g = GetParam();
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".rep") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  for (const auto& f : files) {
    auto reader = open_trace(f.string());
    const std::uint64_t announced = reader->announced_operations();
    const RunStats s = replay(*reader, config("dmmalloc", g, g == 1 ? 0 : 50, 7));
    EXPECT_TRUE(s.verified) << f << ": " << s.failure << (problem_texts(s.findings).empty() ? "" : " " + problem_texts(s.findings).front());
    EXPECT_EQ(s.events, announced) << f;
    EXPECT_EQ(s.findings.count(FindingKind::AllocatorInduced), 0u) << f;
    EXPECT_EQ(s.findings.count(FindingKind::LostBlock) + handed_out_twice(s.findings) + s.findings.count(FindingKind::ContentMismatch), 0u) << f;
  }
}

INSTANTIATE_TEST_SUITE_P(GroupSizes, CsApp, ::testing::Values(1, 4));

}  // namespace
}  // namespace pprsim
