// The native engine (sim/native_engine.h) from the command line, on allocators in plain C built
// for recording: the speculation-aware example (native/examples/partitioned.c) verifies; the
// unaware fixture (props/tests/native/fixtures/plain_freelist.c) is falsified at its global
// free-list heads, named by symbol; the same crashing in a task or hanging in free stops the run
// as FAILED with the call, the line and the task, and pprsim lives on; a seed gives the same
// JSON every time.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "props/tests/tools/cli_support.h"

namespace pprsim {
namespace {

namespace fs = std::filesystem;

using test::kSample;
const fs::path kCsapp = fs::path(PPRSIM_SOURCE_DIR) / ".." / "shared" / "traces" / "cs-app";

std::string native(const std::string& name) { return "native:" + std::string(PPRSIM_PLUGIN_DIR) + "/" + name + ".so"; }

struct Dir {
  fs::path path;
  Dir() {
    path = fs::temp_directory_path() / ("pprsim_native_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Dir() { fs::remove_all(path); }
};

nlohmann::json run_json(const Dir& d, const std::string& args, int expect_status) {
  const auto r = test::run_pprsim(d.path, args + " --json -", "2>/dev/null");
  EXPECT_EQ(r.status, expect_status) << args << "\n" << r.out;
  return nlohmann::json::parse(r.out);
}

TEST(NativeEngine, ASpeculationAwareCAllocatorVerifiesWithCommittedTasks) {
  const Dir d;
  for (const int g : {1, 4, 8}) {
    const auto j = run_json(d, "replay " + kSample + " --alloc " + native("pprsim_native_partitioned") +
                                   " --group-size " + std::to_string(g), 0);
    EXPECT_TRUE(j["verified"].get<bool>()) << j.dump();
    EXPECT_EQ(j["allocator"], "native:partitioned");
    EXPECT_EQ(j["conflicts"]["allocator_induced"], 0);
    if (g > 1) {
      EXPECT_GT(j["committed"].get<int>(), 0);
      // It grew inside its tasks' slices, and the commits adopted what the committed ones grew.
      EXPECT_GT(j["adopted_bytes"].get<std::uint64_t>(), 0u);
      EXPECT_LE(j["adopted_bytes"].get<std::uint64_t>(), j["task_grown_bytes"].get<std::uint64_t>());
    }
  }
}

TEST(NativeEngine, AnUnawareAllocatorIsFalsifiedAtItsGlobalFreeListHead) {
  const Dir d;
  const auto r = test::run_pprsim(d.path, "replay " + kSample + " --alloc " + native("pprsim_native_plain") +
                                              " --group-size 4");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("FAILED with native:plain-freelist"), std::string::npos) << r.out;
  // Two tasks popped the same head of the same class: a read of what the other wrote, at the
  // global, named by its symbol.
  EXPECT_NE(r.out.find("(allocator-induced, raw): 8 bytes at 0x10000000001088: allocator global free_heads+0x8"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("block handed out twice"), std::string::npos) << r.out;
  // Alone, the same allocator is correct: what fails is speculation.
  const auto alone = run_json(d, "replay " + kSample + " --alloc " + native("pprsim_native_plain"), 0);
  EXPECT_TRUE(alone["verified"].get<bool>());
}

TEST(NativeEngine, ACrashInATaskIsAFailedRunNamingTheCallTheLineAndTheTask) {
  const Dir d;
  const auto r = test::run_pprsim(d.path, "replay " + kSample + " --alloc " + native("pprsim_native_plain_crash") +
                                              " --group-size 4 --json run.json");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("stopped: the allocator crashed in malloc at line 21 in task 1: signal 11 (SIGSEGV"),
            std::string::npos)
      << r.out;
  const auto j = nlohmann::json::parse(test::slurp(d.path / "run.json"));
  EXPECT_EQ(j["stop"], "crash");
  EXPECT_EQ(j["findings"]["counts"]["crashed"], 1) << j["findings"].dump();
}

TEST(NativeEngine, AFailedAssertionInATaskIsAFailedRunWithTheSignal) {
  const Dir d;
  const auto r = test::run_pprsim(d.path, "replay " + kSample + " --alloc " + native("pprsim_native_plain_abort") +
                                              " --group-size 4");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("stopped: the allocator crashed in malloc at line 21 in task 1: signal 6 (SIGABRT"),
            std::string::npos)
      << r.out;
}

TEST(NativeEngine, FuzzShrinksACrashToACounterexampleThatReplaysAsOne) {
  const Dir d;
  const std::string alloc = native("pprsim_native_plain_crash");
  const auto r = test::run_pprsim(d.path, "fuzz --alloc " + alloc + " --runs 200 --seed 1 --out cex");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("the allocator crashed in malloc"), std::string::npos) << r.out;
  std::string trace;
  for (const auto& e : fs::directory_iterator(d.path / "cex")) trace = e.path().string();
  ASSERT_FALSE(trace.empty()) << r.out;
  // The counterexample is small, and replayed as fuzz says, it crashes the same way.
  EXPECT_LE(test::line_count(test::slurp(trace)), 12u) << test::slurp(trace);
  const std::size_t at = r.out.find("reproduce: pprsim ");
  ASSERT_NE(at, std::string::npos) << r.out;
  const std::string again = r.out.substr(at + std::string("reproduce: pprsim ").size(),
                                         r.out.find('\n', at) - at - std::string("reproduce: pprsim ").size());
  const auto replayed = test::run_pprsim(d.path, again);
  EXPECT_EQ(replayed.status, 1) << replayed.out;
  EXPECT_NE(replayed.out.find("crashed in malloc"), std::string::npos) << replayed.out;
}

TEST(NativeEngine, AHangIsAFailedRunWithinTheCallTimeLimit) {
  const Dir d;
  const auto r = test::run_pprsim(d.path, "replay " + kSample + " --alloc " + native("pprsim_native_plain_hang") +
                                              " --call-timeout 1");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("stopped: the allocator hung in realloc at line 31: no return within 1 s"), std::string::npos)
      << r.out;
  // The killed worker is gone: nothing of it is left running.
  EXPECT_EQ(test::run_shell("pgrep -f 'pprsim_native_worke[r] .*pprsim_native_plain_hang' | wc -l").out, "0\n");
}

TEST(NativeEngine, OneSeedGivesTheSameJsonEveryTime) {
  const Dir d;
  const std::string args = "replay " + kSample + " --alloc " + native("pprsim_native_plain") + " --group-size 4 --seed 7";
  auto a = run_json(d, args, 1);
  auto b = run_json(d, args, 1);
  a.erase("seconds");
  b.erase("seconds");
  EXPECT_EQ(a.dump(), b.dump());
}

// The channel is memory the allocator's process can write over: a worker that puts a reply there
// claiming 2^40 spans is a clear failure, not an allocation of that size or a wait forever.
TEST(NativeEngine, AReplyWrittenOverInTheChannelIsAFailureNotAnAllocationOrAHang) {
  const Dir d;
  const fs::path fake = d.path / "fake_worker.py";
  {
    std::ofstream f(fake);
    // native/engine/shm_channel.h's layout: the ring towards pprsim has its head at byte 192 of
    // the file and its bytes after the control page and the ring towards the worker;
    // worker_protocol.h's Message: kind, gave_up, then result, a, b, reads, writes, payload.
    f << "import mmap, os, struct, sys, time\n"
         "ring = 1 << 20\n"
         "m = mmap.mmap(4, 4096 + 2 * ring)\n"
         "msg = struct.pack('<IIQQQQQQ', 1, 0, 1, 0, 0, 1 << 40, 0, 0)\n"
         "m[4096 + ring:4096 + ring + len(msg)] = msg\n"
         "m[192:200] = struct.pack('<Q', len(msg))\n"
         "os.write(3, b'x')\n"
         "time.sleep(30)\n";
  }
  std::ofstream(d.path / "run.sh") << "#!/bin/sh\nexec python3 '" << fake.string() << "' \"$@\"\n";
  fs::permissions(d.path / "run.sh", fs::perms::owner_all);
  const auto run = test::run_shell("cd '" + d.path.string() + "' && PPRSIM_NATIVE_WORKER='" + (d.path / "run.sh").string() +
                                   "' timeout 20 " + PPRSIM_BINARY + " replay " + kSample + " --alloc " +
                                   native("pprsim_native_plain") + " 2>&1");
  EXPECT_EQ(run.status, 2) << run.out;
  EXPECT_NE(run.out.find("malformed message in init"), std::string::npos) << run.out;
}

TEST(NativeEngine, ALibraryThatIsNotThereIsBadUsage) {
  const Dir d;
  const auto r = test::run_pprsim(d.path, "replay " + kSample + " --alloc native:nowhere/none.so");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("native:nowhere/none.so: No such file or directory"), std::string::npos) << r.out;
}

// `pprsim ARGS` with the native build cache in the test's folder.
test::CliResult run_with_cache(const Dir& d, const std::string& args) {
  return test::run_shell("cd '" + d.path.string() + "' && PPRSIM_CACHE_DIR='" + (d.path / "cache").string() +
                         "' timeout -s KILL 120 " + PPRSIM_BINARY + " " + args + " 2>&1");
}

TEST(NativeEngine, ASpecOfSourcesIsBuiltByPprsimAndRun) {
  if (test::run_shell("command -v clang").status != 0) GTEST_SKIP() << "clang not found: the native build is skipped";
  const Dir d;
  const std::string src = std::string(PPRSIM_SOURCE_DIR) + "/native/examples/partitioned.c";
  // The example is its own port (it defines pprsim_port), and goes in a list beside a built-in.
  const auto r = run_with_cache(d, "replay " + kSample + " --alloc native:port=" + src + ",dmmalloc --group-size 4");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("native:partitioned"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dmmalloc"), std::string::npos) << r.out;
  // Built once: the cache holds one entry, which the second run finds.
  const auto again = run_with_cache(d, "replay " + kSample + " --alloc native:port=" + src + " --group-size 4");
  EXPECT_EQ(again.status, 0) << again.out;
}

TEST(NativeEngine, ASourceThatDoesNotCompileIsBadUsageWithTheCompilersFirstError) {
  if (test::run_shell("command -v clang").status != 0) GTEST_SKIP() << "clang not found: the native build is skipped";
  const Dir d;
  test::write_all(d.path / "broken.c", "#include \"pprsim_port.h\"\nint f(void) { return missing; }\n");
  const auto r = run_with_cache(d, "replay " + kSample + " --alloc native:port=broken.c");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("broken.c:2:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("missing"), std::string::npos) << r.out;
}

// The project's dmmalloc, the same source natively (native/examples/dmmalloc_port.cpp) and in the
// simulator, takes the same decisions: verdict, groups, commits, aborts, understudy wins,
// rescues and conflicts of both classes.
void expect_same_decisions(const Dir& d, const std::string& trace, int g, const std::string& alloc = "dmmalloc",
                           const std::string& extra = "") {
  const std::string args = "replay " + trace + " --group-size " + std::to_string(g) + " --ppr-every 50" + extra;
  const auto native_run = run_json(d, args + " --alloc " + native("pprsim_native_" + alloc), 0);
  const auto sim_run = run_json(d, args + " --alloc " + alloc, 0);
  EXPECT_EQ(native_run["allocator"], "native:" + alloc);
  for (const char* key : {"verified", "groups", "committed", "aborted", "understudy_wins", "rescues", "conflicts"}) {
    EXPECT_EQ(native_run[key], sim_run[key]) << key << " differs on " << trace << " at G=" << g;
  }
}

TEST(NativeEngine, TheProjectsDmmallocTakesTheSimulatorsDecisions) {
  const Dir d;
  for (const int g : {2, 4, 8}) expect_same_decisions(d, kSample, g);
  if (!fs::exists(kCsapp)) GTEST_SKIP() << "CS:APP traces not found at " << kCsapp << ": the sample only";
  expect_same_decisions(d, (kCsapp / "amptjp-bal.rep").string(), 4);
}

// An understudy that wins every group becomes MAIN (its worker's heap then the one tasks fork
// from, native/engine/worker_arena.h): the later groups still take the simulator's decisions.
TEST(NativeEngine, AnUnderstudyThatBecomesMainKeepsTheSimulatorsDecisions) {
  const Dir d;
  const std::string always = " --understudy always";
  expect_same_decisions(d, kSample, 4, "dmmalloc", always);
  if (!fs::exists(kCsapp)) GTEST_SKIP() << "CS:APP traces not found at " << kCsapp << ": the sample only";
  const std::string trace = (kCsapp / "amptjp-bal.rep").string();
  expect_same_decisions(d, trace, 4, "dmmalloc", always);
  const auto j = run_json(d, "replay " + trace + " --group-size 4 --ppr-every 50" + always + " --alloc " +
                                 native("pprsim_native_dmmalloc"), 0);
  EXPECT_GT(j["understudy_wins"].get<int>(), 10) << "the understudy became MAIN again and again";
}

// comalloc too (native/examples/comalloc_port.cpp): its heaps' bookkeeping crosses from the tasks
// to MAIN as bytes (alloc/co/task_state.h).
TEST(NativeEngine, TheProjectsComallocTakesTheSimulatorsDecisions) {
  const Dir d;
  for (const int g : {2, 4, 8}) expect_same_decisions(d, kSample, g, "comalloc");
  if (!fs::exists(kCsapp)) GTEST_SKIP() << "CS:APP traces not found at " << kCsapp << ": the sample only";
  for (const char* t : {"amptjp-bal.rep", "realloc-bal.rep"}) expect_same_decisions(d, (kCsapp / t).string(), 4, "comalloc");
}

// variant=NAME reaches the port at init: the dmmalloc port runs the selftest's mutant NAME, which
// fuzzing then catches natively (as `pprsim selftest --native` does for every mutant); a name the
// port does not know stops it at init, which is bad usage.
TEST(NativeEngine, AVariantChoosesTheSeededBugAndFuzzingCatchesItNatively) {
  const Dir d;
  const std::string lib = native("pprsim_native_dmmalloc");
  const auto j = run_json(d, "replay " + kSample + " --alloc " + lib + ",variant=eager-global-free --group-size 4", 0);
  EXPECT_EQ(j["allocator"], "native:dmmalloc/eager-global-free");
  const auto caught = test::run_pprsim(d.path, "fuzz --alloc " + lib + ",variant=carve-overlap --runs 200 --seed 1 --out cx");
  EXPECT_EQ(caught.status, 1) << caught.out;
  EXPECT_NE(caught.out.find("1 failing"), std::string::npos) << caught.out;
  const auto plain = test::run_pprsim(d.path, "fuzz --alloc " + lib + " --runs 60 --seed 1 --out cx");
  EXPECT_EQ(plain.status, 0) << plain.out;
  const auto unknown = test::run_pprsim(d.path, "replay " + kSample + " --alloc " + lib + ",variant=nosuch");
  EXPECT_EQ(unknown.status, 2) << unknown.out;
  EXPECT_NE(unknown.out.find("no mutant named 'nosuch'"), std::string::npos) << unknown.out;
  const auto twice = test::run_pprsim(d.path, "replay " + kSample + " --alloc " + lib + ",variant=a,variant=b");
  EXPECT_EQ(twice.status, 2) << twice.out;
  EXPECT_NE(twice.out.find("variant= given twice"), std::string::npos) << twice.out;
}

// A port of version 2 gives pprsim its allocator's census and verify: the project's cores do, so a
// native run checks for lost blocks and runs verify() with --paranoid, and a seeded bug that only
// loses blocks (merge forgets the deferred frees) is caught natively.
TEST(NativeEngine, ThePortsCensusFindsLostBlocksAndItsVerifyRunsWhenParanoid) {
  const Dir d;
  const std::string lib = native("pprsim_native_dmmalloc");
  const auto j = run_json(d, "replay " + kSample + " --alloc " + lib + " --group-size 4 --paranoid", 0);
  const auto& checks = j["checks"];
  EXPECT_NE(std::find(checks.begin(), checks.end(), "census"), checks.end()) << j.dump();
  EXPECT_NE(std::find(checks.begin(), checks.end(), "verify"), checks.end()) << j.dump();
  const auto lost = test::run_pprsim(d.path, "fuzz --alloc " + lib + ",variant=merge-drops-deferred --runs 200 --seed 1 --out cx");
  EXPECT_EQ(lost.status, 1) << lost.out;
  EXPECT_NE(lost.out.find("lost"), std::string::npos) << lost.out;
}

TEST(NativeEngine, TheAwareExampleVerifiesOnCsappTraces) {
  if (!fs::exists(kCsapp)) GTEST_SKIP() << "CS:APP traces not found at " << kCsapp << ": skipped";
  const Dir d;
  for (const char* t : {"amptjp-bal.rep", "realloc-bal.rep"}) {
    const auto j = run_json(d, "replay " + (kCsapp / t).string() + " --alloc " + native("pprsim_native_partitioned") +
                                   " --group-size 4 --ppr-every 50", 0);
    EXPECT_TRUE(j["verified"].get<bool>()) << t;
    EXPECT_EQ(j["conflicts"]["allocator_induced"], 0) << t;
    EXPECT_GT(j["committed"].get<int>(), 0) << t;
  }
}

// An allocator's debug prints (printf, puts, putchar; setlocale for its number format, as BOP's
// dmmalloc's report does) build and run: they go to standard error, unbuffered, so a forked
// task never prints a buffer of its parent's again.
TEST(NativeEngine, DebugPrintsOfTheAllocatorGoToStandardError) {
  if (test::run_shell("command -v clang").status != 0) GTEST_SKIP() << "clang not found: the native build is skipped";
  const Dir d;
  test::write_all(d.path / "chatty.c", R"(#include <locale.h>
#include <stdio.h>
#include "pprsim_port.h"
static char *next;
static void *bump(size_t n) {
  if (next == NULL) next = pprsim_native_sys_alloc(1 << 24);
  char *p = next + 16;
  *(size_t *)next = n;
  next += (n + 31) & ~(size_t)15;
  printf("malloc %lu\n", (unsigned long)n);
  return p;
}
static void drop(void *p) { (void)p; puts("free"); putchar('.'); }
static void *grow(void *p, size_t n) { (void)p; return bump(n); }
static size_t usable(void *p) { return *(size_t *)((char *)p - 16); }
static void init(void) { setlocale(LC_ALL, ""); }
static const struct pprsim_port port = {.version = PPRSIM_PORT_VERSION, .name = "chatty", .init = init,
    .malloc = bump, .free = drop, .realloc = grow, .usable_size = usable};
const struct pprsim_port *pprsim_port(void) { return &port; }
)");
  test::write_all(d.path / "t.trace", "pprtrace 1\na 0 24\nf 0\n");
  const auto r = test::run_shell("cd '" + d.path.string() + "' && PPRSIM_CACHE_DIR='" + (d.path / "cache").string() +
                                 "' timeout -s KILL 120 " + PPRSIM_BINARY + " replay t.trace --alloc native:port=chatty.c" +
                                 " 2>err.txt >out.txt; echo $?");
  EXPECT_EQ(r.out, "0\n") << test::slurp(d.path / "err.txt");
  const std::string err = test::slurp(d.path / "err.txt");
  EXPECT_NE(err.find("malloc 24"), std::string::npos) << err;
  EXPECT_NE(err.find("free"), std::string::npos) << err;
  EXPECT_EQ(test::slurp(d.path / "out.txt").find("malloc 24"), std::string::npos);
}

// The BOP-compatibility port (native/bop/bop_port.c): an allocator written against BOP's
// interface only (native/examples/bop_classes.c) builds unmodified and verifies, with tasks
// committed and rescues where a task's share runs out; the same with its lists shared is
// falsified at those lists, by symbol.
const std::string kBopExample = std::string(PPRSIM_SOURCE_DIR) + "/native/examples/bop_classes.c";
const std::string kBopPort = std::string(PPRSIM_SOURCE_DIR) + "/native/examples/bop_classes_port.c";

TEST(BopPort, ABopStyleAllocatorBuildsUnmodifiedAndVerifies) {
  if (test::run_shell("command -v clang").status != 0) GTEST_SKIP() << "clang not found: the native build is skipped";
  const Dir d;
  const std::string alloc = " --alloc native:" + kBopExample + ",port=" + kBopPort;
  for (const int g : {1, 4}) {
    const auto r = run_with_cache(d, "replay " + kSample + alloc + " --group-size " + std::to_string(g) + " --json -");
    ASSERT_EQ(r.status, 0) << r.out;
    const auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
    EXPECT_TRUE(j["verified"].get<bool>());
    EXPECT_EQ(j["allocator"], "native:bop-classes");
    EXPECT_EQ(j["conflicts"]["allocator_induced"], 0);
    if (g > 1) {
      EXPECT_GT(j["committed"].get<int>(), 0);
    }
  }
  // A large object in a task: the allocator asks BOP for a rescue, and the task gives up.
  test::write_all(d.path / "large.trace", "pprtrace 1\na 0 64\nppr\na 1 20000000\nend\nppr\na 2 32\nend\n");
  const auto r = run_with_cache(d, "replay large.trace" + alloc + " --group-size 2 --json -");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  EXPECT_GE(j["rescues"].get<int>(), 1) << j.dump();
  if (!fs::exists(kCsapp)) GTEST_SKIP() << "CS:APP traces not found at " << kCsapp << ": the sample only";
  const auto csapp = run_with_cache(d, "replay " + (kCsapp / "amptjp-bal.rep").string() + alloc +
                                           " --group-size 4 --ppr-every 50");
  EXPECT_EQ(csapp.status, 0) << csapp.out;
}

// Found by fuzzing the example: task 0 reallocates an object (freeing the old block, deferred)
// and task 1 frees the same object. With deferred frees linked through the blocks both tasks
// wrote its header, an allocator-induced conflict beside the program's own true dependence.
TEST(BopPort, TwoTasksFreeingTheSameBlockDoNotBothWriteIt) {
  if (test::run_shell("command -v clang").status != 0) GTEST_SKIP() << "clang not found: the native build is skipped";
  const Dir d;
  test::write_all(d.path / "twice.trace", "pprtrace 1\na 0 0\nppr\nr 0 24\nend\nppr\nf 0\nend\n");
  const auto r = run_with_cache(d, "replay twice.trace --alloc native:" + kBopExample + ",port=" + kBopPort +
                                       " --group-size 2 --seed 1 --understudy always --check-every 1 --json -");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(j["conflicts"]["allocator_induced"], 0) << j.dump();
  EXPECT_EQ(j["conflicts"]["true_dependence"], 1) << j.dump();
}

TEST(BopPort, TheSameAllocatorWithSharedListsIsFalsifiedAtThem) {
  if (test::run_shell("command -v clang").status != 0) GTEST_SKIP() << "clang not found: the native build is skipped";
  const Dir d;
  const std::string unsafe = std::string(PPRSIM_SOURCE_DIR) + "/props/tests/native/fixtures/bop_shared_lists.c";
  const auto r = run_with_cache(d, "replay " + kSample + " --alloc native:" + unsafe + ",port=" + kBopPort +
                                       " --group-size 4");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("(allocator-induced, raw)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("allocator global heads+"), std::string::npos) << r.out;
}

TEST(BopPort, PortBopWithoutTheDefaultEntryPointsIsBadUsageNamingTheSymbol) {
  if (test::run_shell("command -v clang").status != 0) GTEST_SKIP() << "clang not found: the native build is skipped";
  const Dir d;
  // port=bop expects BOP dmmalloc's names (dm_malloc, ...); this allocator has others.
  const auto r = run_with_cache(d, "replay " + kSample + " --alloc native:" + kBopExample + ",port=bop");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("dm_malloc"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace pprsim
