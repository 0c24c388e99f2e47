// The allocator under test cannot take pprsim down: a plugin that crashes (a fatal signal, an
// abort, a stack overflow) or hangs makes a FAILED run that names the call, the trace line, the
// task and the signal, with the JSON and the HTML written; a plugin that returns garbage is told
// why. The plugin is props/tests/alloc/plugins/misbehaving.c, steered by the environment.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "props/tests/tools/cli_support.h"

namespace pprsim {
namespace {

namespace fs = std::filesystem;

const std::string kPlugin = "plugin:" + std::string(PPRSIM_PLUGIN_DIR) + "/pprsim_test_plugin_misbehaving.so";
using test::kSample;

struct Dir {
  fs::path path;
  Dir() {
    path = fs::temp_directory_path() / ("pprsim_containment_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Dir() { fs::remove_all(path); }
};

// `pprsim ARGS` with the plugin misbehaving as `mode` after `after` good calls.
test::CliResult misbehave(const Dir& d, const std::string& mode, const std::string& args, int after = 0,
                          const std::string& extra_env = "") {
  const std::string env = "PPRSIM_TEST_MISBEHAVE=" + mode + " PPRSIM_TEST_AFTER=" + std::to_string(after) + " " +
                          extra_env + " ";
  return test::run_shell("cd '" + d.path.string() + "' && " + env + "timeout -s KILL 60 " + PPRSIM_BINARY + " " +
                         args + " 2>&1");
}

TEST(Containment, ASegfaultInMallocIsAFailedRunWithItsReports) {
  const Dir d;
  const auto r = misbehave(d, "segv-malloc", "replay " + kSample + " --alloc " + kPlugin + " --json run.json --html run.html", 2);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("stopped: the allocator crashed in malloc at line 8: signal 11 (SIGSEGV"), std::string::npos)
      << r.out;
  const auto j = nlohmann::json::parse(test::slurp(d.path / "run.json"));
  EXPECT_FALSE(j["verified"].get<bool>());
  EXPECT_EQ(j["stop"], "crash");
  // The run stopped at line 8, yet "events" counts the whole trace, as a run that verified does.
  const auto whole = test::run_pprsim(d.path, "replay " + kSample + " --json -", "2>/dev/null");
  EXPECT_EQ(j["events"], nlohmann::json::parse(whole.out)["events"]);
  EXPECT_NE(j["failure"].get<std::string>().find("at line 8"), std::string::npos);
  EXPECT_NE(test::slurp(d.path / "run.html").find("crashed in malloc"), std::string::npos);
  EXPECT_EQ(test::listing(d.path), (std::set<std::string>{"run.html", "run.json"}));  // no temporary left
}

TEST(Containment, AnAbortAFloatingPointTrapAndAStackOverflowAreCrashes) {
  const Dir d;
  const std::pair<const char*, const char*> cases[] = {
      {"abort-malloc", "signal 6 (SIGABRT"}, {"fpe-malloc", "signal 8 (SIGFPE"}, {"overflow-malloc", "signal 11 (SIGSEGV"}};
  for (const auto& [mode, text] : cases) {
    const auto r = misbehave(d, mode, "replay " + kSample + " --alloc " + kPlugin);
    EXPECT_EQ(r.status, 1) << mode << ": " << r.out;
    EXPECT_NE(r.out.find(std::string("the allocator crashed in malloc at line 5: ") + text), std::string::npos)
        << mode << ": " << r.out;
  }
}

TEST(Containment, ACrashInsideATaskNamesTheTask) {
  const Dir d;
  const auto r = misbehave(d, "segv-malloc", "replay " + kSample + " --alloc " + kPlugin + " --group-size 2", 0,
                           "PPRSIM_TEST_IN_TASK=1");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("crashed in malloc at line 21 in task 1: signal 11"), std::string::npos) << r.out;
}

TEST(Containment, AnEndlessLoopIsAHangWithinTheTimeout) {
  const Dir d;
  for (const char* mode : {"hang-free", "hang-in-callback-free"}) {
    const auto r = misbehave(d, mode, "replay " + kSample + " --alloc " + kPlugin +
                                          " --call-timeout 0.5 --json run.json --html run.html");
    EXPECT_EQ(r.status, 1) << mode << ": " << r.out;
    EXPECT_NE(r.out.find("stopped: the allocator hung in free at line 16: no return within 0.5 s"), std::string::npos)
        << mode << ": " << r.out;
    EXPECT_EQ(nlohmann::json::parse(test::slurp(d.path / "run.json"))["stop"], "hang");
    EXPECT_TRUE(fs::exists(d.path / "run.html"));
  }
}

TEST(Containment, ShrinkKeepsACrashAndAHangAsTheirKinds) {
  const Dir d;
  auto r = misbehave(d, "segv-malloc", "shrink " + kSample + " --alloc " + kPlugin + " -o crash.trace", 3);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find(": crash with plugin:"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(d.path / "crash.trace"));
  r = misbehave(d, "hang-free", "shrink " + kSample + " --alloc " + kPlugin + " --call-timeout 0.2 -o hang.trace", 1);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find(": hang with plugin:"), std::string::npos) << r.out;
  EXPECT_NE(test::slurp(d.path / "hang.trace").find("--call-timeout 0.2"), std::string::npos);
}

TEST(Containment, TheMemoryLimitReachedInsideAPluginCallIsExitTwoNotAnAbort) {
  // pprsim's own error raised in a memory callback must not unwind through the plugin's C
  // frames (std::terminate); it is raised once the call returned.
  const Dir d;
  const auto r = misbehave(d, "fill-malloc", "replay " + kSample + " --alloc " + kPlugin + " --max-resident 16M");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_EQ(test::line_count(r.out), 1u) << r.out;
  EXPECT_NE(r.out.find("16"), std::string::npos) << r.out;
}

TEST(Containment, CreateReturningNullIsBadUsageInOneLine) {
  const Dir d;
  for (const char* cmd : {"replay ", "shrink -o x.trace "}) {
    const auto r = misbehave(d, "null-create", std::string(cmd) + kSample + " --alloc " + kPlugin);
    EXPECT_EQ(r.status, 2) << r.out;
    EXPECT_EQ(test::line_count(r.out), 1u) << r.out;
    EXPECT_NE(r.out.find("create() returned NULL"), std::string::npos) << r.out;
  }
}

TEST(Containment, GarbageResultsSayWhatIsWrongWithThem) {
  const Dir d;
  const std::pair<const char*, const char*> cases[] = {
      {"null-malloc", "malloc of 200 bytes at line 8 returned NULL though system memory refused no request"},
      {"misaligned-malloc", "malloc of 200 bytes at line 8 returned 0x10000001078: not 16-byte aligned"},
      {"unmapped-malloc", "returned 0x200000000000: in memory the allocator never obtained from system memory"},
      {"low-malloc", "returned 0x1000: below the heap"},
      {"wild-load-malloc", "the allocator faulted in malloc at line 8: access to unmapped address 0xdead0000"},
  };
  for (const auto& [mode, text] : cases) {
    const auto r = misbehave(d, mode, "replay " + kSample + " --alloc " + kPlugin, 2);
    EXPECT_EQ(r.status, 1) << mode << ": " << r.out;
    EXPECT_NE(r.out.find(text), std::string::npos) << mode << ": " << r.out;
  }
}

}  // namespace
}  // namespace pprsim
