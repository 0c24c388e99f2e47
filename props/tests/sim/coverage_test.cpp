// Allocator path coverage: the probes compile to nothing on native memory, each run reports
// the paths it reached (and only those), in the text report, the JSON and the HTML.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>

#include "alloc/dmmalloc.h"
#include "alloc/mutants.h"
#include "alloc/native_memory.h"
#include "alloc/probes.h"
#include "props/tests/test_support.h"
#include "sim/coverage.h"
#include "sim/run_json.h"
#include "tools/html_coverage.h"

namespace pprsim {
namespace {

using test::config;
using test::replay_text;

// Natively nothing records a probe: the call is compiled out through the Memory type.
template <class M>
concept RecordsProbes = requires(M& m) { m.probe(0u); };
static_assert(!RecordsProbes<NativeMemory>);
static_assert(RecordsProbes<SimMemory>);

TEST(Probes, NamesAreUniqueAndEachSaysWhatItGuards) {
  for (const ProbeFamily& f : kProbeFamilies) {
    std::set<std::string_view> names;
    for (unsigned i = f.first; i < f.first + f.count; ++i) {
      EXPECT_TRUE(names.insert(probe_info(i).name).second) << f.name << ": " << probe_info(i).name;
      EXPECT_FALSE(probe_info(i).guards.empty()) << probe_info(i).name;
      EXPECT_EQ(&probe_family(i), &f);
    }
  }
  EXPECT_EQ(kProbeFamilies[2].first + kProbeFamilies[2].count, kProbeCount);
}

unsigned id_of(std::string_view family, std::string_view name) {
  for (const ProbeFamily& f : kProbeFamilies) {
    if (f.name != family) continue;
    for (unsigned i = f.first; i < f.first + f.count; ++i) {
      if (probe_info(i).name == name) return i;
    }
  }
  ADD_FAILURE() << "no probe " << family << "/" << name;
  return 0;
}

constexpr const char* kCallocInTask = R"(pprtrace 1
a 1 64
ppr
c 2 4 10
f 1
end
ppr
a 3 5000
end
f 2
f 3
)";

constexpr const char* kPlainMallocs = R"(pprtrace 1
a 1 64
a 2 64
f 1
f 2
)";

TEST(Coverage, ARunReachesThePathsItTakesAndNoOthers) {
  const RunStats s = replay_text(kCallocInTask, config("dmmalloc", 2, 0, 1, UnderstudyMode::Never));
  ASSERT_TRUE(s.verified) << s.failure;
  EXPECT_TRUE(s.coverage.reached(id_of("dmmalloc", "calloc-task")));
  EXPECT_TRUE(s.coverage.reached(id_of("dmmalloc", "deferred-free")));
  EXPECT_TRUE(s.coverage.reached(id_of("dmmalloc", "carve")));
  EXPECT_TRUE(s.coverage.reached(id_of("dmmalloc", "merge-deferred")));
  EXPECT_FALSE(s.coverage.reached(id_of("dmmalloc", "calloc-seq")));

  const RunStats plain = replay_text(kPlainMallocs, config("dmmalloc", 1));
  EXPECT_FALSE(plain.coverage.reached(id_of("dmmalloc", "calloc-task")));
  EXPECT_FALSE(plain.coverage.reached(id_of("dmmalloc", "carve")));
  EXPECT_EQ(plain.coverage.hits(id_of("dmmalloc", "fast-free")), 2u);
  // Pairs: free after free in the one process.
  EXPECT_TRUE(plain.coverage.pair(id_of("dmmalloc", "fast-free"), id_of("dmmalloc", "fast-free")));
  EXPECT_GT(s.coverage.new_over(plain.coverage), 0u);
  EXPECT_EQ(plain.coverage.new_over(plain.coverage), 0u);
}

// A large object freed goes to dmmalloc's kept regions; a larger one asked for next finds none
// that fits. Under `--faults pressure=1` system memory refuses that request: dmmalloc gives back
// what it keeps and asks again (large-retry), and the run stays verified. An allocator that
// returns NULL instead is asked once more by the program, so it is not failed for it.
constexpr const char* kLargeUnderPressure = R"(pprtrace 1
a 1 300000
f 1
a 2 900000
w 2 0 64
f 2
)";

TEST(Coverage, PressureReachesTheRetryAfterGivingBackKeptRegions) {
  ReplayConfig cfg = config("dmmalloc", 1);
  cfg.faults = FaultPlan::parse("pressure=1");
  const RunStats s = replay_text(kLargeUnderPressure, cfg);
  ASSERT_TRUE(s.verified) << s.failure;
  EXPECT_TRUE(s.coverage.reached(id_of("dmmalloc", "large-retry")));
  // The first large object: nothing kept to give back, so NULL, and the program asked again. The
  // second: dmmalloc gave back the kept region and asked again itself.
  EXPECT_EQ(s.pressure_retries, 1u);
  EXPECT_EQ(s.refused_requests, 2u);
  const RunStats calm = replay_text(kLargeUnderPressure, config("dmmalloc", 1));
  EXPECT_FALSE(calm.coverage.reached(id_of("dmmalloc", "large-retry")));
  for (const char* alloc : {"comalloc", "shared"}) {
    ReplayConfig c = config(alloc, 1);
    c.faults = cfg.faults;
    const RunStats r = replay_text(kLargeUnderPressure, c);
    EXPECT_TRUE(r.verified) << alloc << ": " << r.failure;
    EXPECT_GE(r.refused_requests, 1u) << alloc;
  }
}

TEST(Coverage, ComallocReportsItsOwnAndItsBaseHeapsPaths) {
  const RunStats s = replay_text(kCallocInTask, config("comalloc", 2, 0, 1, UnderstudyMode::Never));
  ASSERT_TRUE(s.verified) << s.failure;
  EXPECT_TRUE(s.coverage.reached(id_of("comalloc", "calloc-task")));
  EXPECT_TRUE(s.coverage.reached(id_of("comalloc", "deferred-free")));
  EXPECT_TRUE(s.coverage.reached(id_of("base heap", "top-cut")));
  EXPECT_EQ(s.coverage.reached_in(kProbeFamilies[0]), 0u);  // no dmmalloc path
  const auto j = run_to_json(s);
  EXPECT_EQ(j["coverage"]["paths"], kCoProbes.size() + kDlProbes.size());
}

TEST(Coverage, TextJsonAndHtmlSayWhatWasNeverReached) {
  const RunStats s = replay_text(kPlainMallocs, config("dmmalloc", 1));
  std::ostringstream text;
  print_summary(text, s);
  const unsigned reached = s.coverage.reached_in(kProbeFamilies[0]);
  EXPECT_NE(text.str().find(fmt::format("coverage: exercised {} of {} dmmalloc paths; never: ", reached, kDmProbes.size())),
            std::string::npos)
      << text.str();
  EXPECT_NE(text.str().find("calloc-task"), std::string::npos);
  const auto j = run_to_json(s);
  ASSERT_TRUE(j.contains("coverage"));
  EXPECT_EQ(j["coverage"]["paths"], kDmProbes.size());
  EXPECT_EQ(j["coverage"]["exercised"], reached);
  EXPECT_EQ(j["coverage"]["probes"].size(), kDmProbes.size());
  const std::string html = html_coverage(j);
  // Never-reached paths come first: the first row is one of them, the last one a reached path.
  const auto first_never = html.find("<tr class=\"never\"");
  const auto first_hit = html.find("<tr class=\"hit\"");
  ASSERT_NE(first_never, std::string::npos);
  ASSERT_NE(first_hit, std::string::npos);
  EXPECT_LT(first_never, first_hit);
  EXPECT_EQ(html.find("<tr class=\"never\"", first_hit), std::string::npos);
}

TEST(Coverage, AllocatorsWithoutProbesReportNone) {
  const RunStats s = replay_text(kPlainMallocs, config("example", 1));
  ASSERT_TRUE(s.verified) << s.failure;
  EXPECT_EQ(run_to_json(s)["coverage"]["paths"], 0u);
  EXPECT_EQ(coverage_text(s.coverage, "example"), "");
  EXPECT_EQ(html_coverage(run_to_json(s)), "");
}

TEST(Coverage, MergedJsonSumsHitsAndRecountsPaths) {
  const RunStats a = replay_text(kPlainMallocs, config("dmmalloc", 1));
  const RunStats b = replay_text(kCallocInTask, config("dmmalloc", 2, 0, 1, UnderstudyMode::Never));
  Coverage both = a.coverage;
  both.merge(b.coverage);
  const auto m = merge_coverage_json(coverage_json(a.coverage, "dmmalloc"), coverage_json(b.coverage, "dmmalloc"));
  EXPECT_EQ(m["exercised"], both.reached_in(kProbeFamilies[0]));
  EXPECT_EQ(m["probes"][0]["hits"], both.hits(0));
  EXPECT_TRUE(merge_coverage_json(coverage_json(a.coverage, "dmmalloc"), coverage_json(a.coverage, "comalloc")).is_null());
}

TEST(Coverage, EveryMutantNamesTheProbeOnItsPath) {
  std::set<std::string_view> guards;
  for (const MutantInfo& m : kMutants) guards.insert(probe_info(probe_id(m.guard)).name);
  EXPECT_GE(guards.size(), 8u);
  EXPECT_TRUE(guards.count("merge-deferred") != 0);
}

}  // namespace
}  // namespace pprsim
