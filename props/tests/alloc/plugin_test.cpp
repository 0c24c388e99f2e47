// C plugins (alloc/pprsim_plugin.h): the example allocators of alloc/plugins/ verify and are
// falsified as they should be; a bad plugin is exit 2 with one line; a plugin returning garbage
// is a failed run with a report, never a crash of pprsim.
#include <gtest/gtest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>

#include "props/tests/test_support.h"
#include "sim/replay.h"
#include "traces/trace_reader.h"

namespace pprsim {
namespace {

using Result = test::CommandResult;

Result run(const std::string& args) { return test::run_pprsim(args); }

std::string plugin(const std::string& name) { return std::string(PPRSIM_PLUGIN_DIR) + "/" + name + ".so"; }
const std::string kGood = "plugin:" + plugin("pprsim_plugin_classes");
const std::string kBroken = "plugin:" + plugin("pprsim_plugin_classes_broken");
using test::kSample;

std::size_t lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

TEST(Plugin, TheCorrectExampleVerifiesWithEveryCheck) {
  const Result r = run("replay " + kSample + " --alloc " + kGood + " --group-size 4 --paranoid --json -");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["verified"].get<bool>());
  EXPECT_EQ(j["allocator"], kGood);
  EXPECT_EQ(j["checks"], nlohmann::json({"conflicts", "contents", "overlap", "census", "verify"}));
}

TEST(Plugin, TheCorrectExampleVerifiesOnEveryCsappTrace) {
  PPRSIM_REQUIRE_CSAPP(dir);
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".rep") continue;
    ReplayConfig cfg = test::config(kGood, 4, 50);
    auto reader = open_trace(entry.path().string());
    const RunStats s = replay(*reader, cfg);
    EXPECT_TRUE(s.verified) << entry.path() << ": " << s.failure;
  }
}

TEST(Plugin, FuzzFalsifiesTheBrokenExampleWithAShrunkCounterexample) {
  const auto out = std::filesystem::temp_directory_path() / "pprsim_plugin_fuzz";
  std::filesystem::remove_all(out);
  const Result r = run("fuzz --alloc " + kBroken + " --runs 300 --seed 1 --out " + out.string());
  ASSERT_EQ(r.status, 1) << r.out;
  const auto at = r.out.find("reproduce: pprsim replay ");
  ASSERT_NE(at, std::string::npos) << r.out;
  std::string cmd = r.out.substr(at + std::string("reproduce: pprsim ").size());
  cmd = cmd.substr(0, cmd.find('\n'));
  const Result again = run(cmd);
  EXPECT_EQ(again.status, 1) << again.out;
  EXPECT_NE(again.out.find("FAILED with " + kBroken), std::string::npos) << again.out;
  std::filesystem::remove_all(out);
}

TEST(Plugin, SelftestOfAnAllocatorRunsItsVerifyAfterEveryCall) {
  const Result good = run("selftest --alloc " + kGood + " --runs 50 --seed 1");
  EXPECT_EQ(good.status, 0) << good.out;
  EXPECT_NE(good.out.find("every property held"), std::string::npos) << good.out;
  const Result bad = run("selftest --alloc " + kBroken + " --runs 300 --seed 1");
  EXPECT_EQ(bad.status, 1) << bad.out;
  EXPECT_NE(bad.out.find("reproduce: pprsim replay"), std::string::npos) << bad.out;
}

// Each bad plugin: exit 2 and exactly one line, naming the plugin and what is wrong, for every
// command that takes --alloc.
TEST(Plugin, ABadPluginIsExitTwoWithOneLine) {
  const auto text = std::filesystem::temp_directory_path() / "pprsim_not_a_plugin.so";
  std::ofstream(text) << "not an ELF file\n";
  const std::pair<std::string, std::string> cases[] = {
      {text.string(), "not a loadable shared object"},
      {plugin("no_such_plugin"), "no such file"},
      {std::string(PPRSIM_PLUGIN_DIR) + "/libpprsim_mtrace_preload.so", "no symbol pprsim_plugin"},
      {plugin("pprsim_test_plugin_bad_abi"), "plugin ABI version 99, this pprsim reads versions 1 to 2"},
      {plugin("pprsim_test_plugin_no_malloc"), "the required function malloc is NULL"},
  };
  for (const auto& [path, why] : cases) {
    const std::string commands[] = {"replay " + kSample + " --group-size 2 --alloc", "fuzz --runs 1 --alloc",
                                    "selftest --runs 1 --alloc"};
    for (const std::string& cmd : commands) {
      const Result r = run(cmd + " plugin:" + path);
      EXPECT_EQ(r.status, 2) << cmd << " " << path << ": " << r.out;
      EXPECT_EQ(lines(r.out), 1u) << r.out;
      EXPECT_NE(r.out.find(why), std::string::npos) << r.out;
      EXPECT_NE(r.out.find(path), std::string::npos) << r.out;
    }
  }
  std::filesystem::remove(text);
}

TEST(Plugin, AVersionTwoPluginGrowsInsideItsTaskSliceAndTheReportSaysSo) {
  // The example is written against ABI version 2: out of partition blocks, or for a large
  // object, a task takes memory from its own slice (task_sys_alloc) instead of giving up.
  const auto dir = std::filesystem::temp_directory_path() / "pprsim_plugin_v2";
  std::filesystem::create_directories(dir);
  const auto trace = dir / "large.trace";
  ASSERT_EQ(run("gen --seed 5 --events 4000 --large-share 0.02 -o " + trace.string()).status, 0);
  const Result r = run("replay " + trace.string() + " --alloc " + kGood + " --group-size 4 --paranoid --json -");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["verified"].get<bool>());
  EXPECT_GT(j["task_grown_bytes"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(j["adopted_bytes"], j["task_grown_bytes"]);  // every task committed here
  EXPECT_EQ(j["rescues"].get<std::uint64_t>(), 0u);
  const Result text = run("replay " + trace.string() + " --alloc " + kGood + " --group-size 4");
  EXPECT_NE(text.out.find(fmt::format("grew {} bytes in their slices", j["task_grown_bytes"].get<std::uint64_t>())),
            std::string::npos)
      << text.out;
  std::filesystem::remove_all(dir);
}

TEST(Plugin, AVersionOnePluginStillLoads) {
  // props/tests/alloc/plugins/misbehaving.c declares ABI version 1 and, left alone, behaves.
  const Result r = run("replay " + kSample + " --alloc plugin:" + plugin("pprsim_test_plugin_misbehaving") + " --json -");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(nlohmann::json::parse(r.out)["verified"].get<bool>());
}

TEST(Plugin, AnAddressOutsideItsMemoryIsAFailedRun) {
  const Result r = run("replay " + kSample + " --group-size 4 --alloc plugin:" + plugin("pprsim_test_plugin_outside"));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("FAILED"), std::string::npos) << r.out;
  // The address is refused before pprsim writes there, with the reason, not as a fault of its own write.
  EXPECT_NE(r.out.find("stopped: malloc of 4096 bytes at line 5 returned 0x200000000000: in memory the allocator never "
                       "obtained from system memory"),
            std::string::npos)
      << r.out;
}

TEST(Plugin, OverlappingBlocksWithoutCensusAreCaughtAndTheReportSaysWhichChecksRan) {
  const auto trace = std::filesystem::temp_directory_path() / "pprsim_plugin_overlap.trace";
  std::ofstream(trace) << "pprtrace 1\na 1 40\na 2 40\nu 1 0 40\n";
  const std::string args = "replay " + trace.string() + " --alloc plugin:" + plugin("pprsim_test_plugin_overlap");
  const Result r = run(args + " --json -");
  EXPECT_EQ(r.status, 1) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_FALSE(j["verified"].get<bool>());
  EXPECT_GT(j["double_allocations"].get<int>(), 0) << r.out;
  EXPECT_EQ(j["checks"], nlohmann::json({"conflicts", "contents", "overlap"}));
  const Result text = run(args);
  EXPECT_NE(text.out.find("checks: conflicts, contents, overlap (no census"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("handed out twice"), std::string::npos) << text.out;
  std::filesystem::remove(trace);
}

}  // namespace
}  // namespace pprsim
