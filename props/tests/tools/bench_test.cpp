// `pprsim bench` as a user meets it: exit statuses, JSON keys, skipped rows, --sim rows.
// No timing is asserted: only the structure of what it reports.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <sys/wait.h>

#include "alloc/probes.h"
#include "props/tests/test_support.h"

namespace pprsim {
namespace {

using Result = test::CommandResult;

Result pprsim(const std::string& args, bool with_stderr = true) {
  return test::run_shell(std::string(PPRSIM_BINARY) + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null"));
}

using test::kSample;
const std::string kQuick = " --rounds 1 --repetitions 1 --min-time 0";

TEST(Bench, JsonHasOneResultPerTraceAndAllocatorWithTheContractKeys) {
  const Result r = pprsim("bench " + kSample + " --alloc all" + kQuick + " --json -", false);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.contains("results"));
  ASSERT_EQ(j["results"].size(), 7u);
  std::set<std::string> names;
  for (const auto& e : j["results"]) {
    for (const char* key : {"trace", "allocator", "status", "note", "events", "operations", "ops_per_second",
                            "ratio_to_glibc", "peak_footprint_bytes", "peak_live_bytes", "utilization"}) {
      EXPECT_TRUE(e.contains(key)) << key;
    }
    names.insert(e["allocator"].get<std::string>());
    EXPECT_EQ(e["trace"], kSample);
    const std::string status = e["status"];
    if (status == "ok") {
      EXPECT_GT(e["ops_per_second"].get<double>(), 0);
      EXPECT_TRUE(e["ratio_to_glibc"].is_number());
      EXPECT_EQ(e["operations"].get<int>(), 30 + 7);  // the trace's 30 calls, then 7 objects freed
    } else {
      // Only a packaged allocator that is not installed (or a sanitizer build) is skipped.
      EXPECT_EQ(status, "skipped") << e.dump();
      EXPECT_TRUE(e["allocator"] == "jemalloc" || e["allocator"] == "mimalloc" || e["allocator"] == "tcmalloc" ||
                  e["allocator"] == "dropin");
      EXPECT_FALSE(e["note"].get<std::string>().empty());
      EXPECT_TRUE(e["ops_per_second"].is_null());
    }
  }
  EXPECT_EQ(names,
            (std::set<std::string>{"glibc", "dmmalloc", "dropin", "comalloc", "jemalloc", "mimalloc", "tcmalloc"}));
  for (const auto& e : j["results"]) {
    if (e["allocator"] == "glibc") {
      EXPECT_DOUBLE_EQ(e["ratio_to_glibc"].get<double>(), 1.0);
    }
  }
  ASSERT_EQ(j["geomean"].size(), 7u);
  EXPECT_FALSE(j.contains("sim"));
  EXPECT_FALSE(j.contains("threads"));
}

// The drop-in as users run it (the built library preloaded) on the multi-threaded workloads,
// beside glibc; the core alone, which serves one thread, is a skipped row.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

TEST(Bench, ThreadsRunsEveryWorkloadAtEveryThreadCountPerAllocator) {
  const Result r = pprsim("bench --threads 1,2 --alloc glibc,dmmalloc,dropin --rounds 1 --repetitions 1 --json -", false);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.contains("threads"));
  ASSERT_EQ(j["threads"].size(), 3u * 2u * 3u);
  std::set<std::string> workloads;
  for (const auto& e : j["threads"]) {
    for (const char* key : {"workload", "threads", "allocator", "status", "note", "operations", "ops_per_second",
                            "ratio_to_glibc", "peak_resident_bytes", "resident_ratio_to_glibc"}) {
      EXPECT_TRUE(e.contains(key)) << key;
    }
    workloads.insert(e["workload"].get<std::string>());
    // dmmalloc's core is one process's (no threads of its own); the drop-in library cannot be
    // preloaded where a sanitizer owns malloc.
    if (e["allocator"] == "dmmalloc" || (kSanitized && e["allocator"] == "dropin")) {
      EXPECT_EQ(e["status"], "skipped") << e.dump();
      continue;
    }
    ASSERT_EQ(e["status"], "ok") << e.dump();
    EXPECT_GT(e["ops_per_second"].get<double>(), 0);
    EXPECT_GT(e["operations"].get<double>(), 0);
    if (e["allocator"] == "glibc") {
      EXPECT_DOUBLE_EQ(e["ratio_to_glibc"].get<double>(), 1.0);
    }
  }
  EXPECT_EQ(workloads, (std::set<std::string>{"server", "prodcons", "falseshare"}));
  EXPECT_EQ(pprsim("bench --threads 0").status, 2);
}

TEST(Bench, SimComparesTheSimulatorWithNativeReplayOfTheSameAllocator) {
  const Result r = pprsim("bench " + kSample + " --alloc dmmalloc,glibc --sim --group-size 4" + kQuick + " --json -", false);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.contains("sim"));
  ASSERT_EQ(j["sim"].size(), 1u);  // glibc has no simulated version
  const auto& s = j["sim"][0];
  EXPECT_EQ(s["allocator"], "dmmalloc");
  EXPECT_EQ(s["group_size"], 4);
  EXPECT_EQ(s["events"], 37);
  EXPECT_TRUE(s["verified"].get<bool>());
  EXPECT_GT(s["sim_events_per_second"].get<double>(), 0);
  EXPECT_GT(s["native_events_per_second"].get<double>(), 0);
  EXPECT_GT(s["ratio"].get<double>(), 0);
  // The paths the simulated replay exercised, as replay's JSON has them.
  ASSERT_TRUE(s.contains("coverage")) << s.dump();
  EXPECT_EQ(s["coverage"]["paths"], kDmProbes.size()) << s["coverage"].dump();
  EXPECT_GT(s["coverage"]["exercised"].get<int>(), 0) << s["coverage"].dump();
  EXPECT_EQ(s["coverage"]["probes"].size(), kDmProbes.size());
}

TEST(Bench, SimNativeComparesTheNativeEngineWithNativeReplayOfTheSameSource) {
  const std::string lib = std::string(PPRSIM_BUILD_DIR) + "/pprsim_native_dmmalloc.so";
  const Result r = pprsim("bench " + kSample + " --alloc dmmalloc --sim-native dmmalloc=native:" + lib +
                              " --group-size 4" + kQuick + " --json -",
                          false);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["sim"].size(), 2u) << j["sim"].dump();
  const auto& sim = j["sim"][0];
  const auto& native = j["sim"][1];
  EXPECT_EQ(sim["allocator"], "dmmalloc");
  EXPECT_EQ(native["allocator"], "native:dmmalloc");
  EXPECT_EQ(native["events"], sim["events"]);
  EXPECT_TRUE(native["verified"].get<bool>());
  // Against the same native replay as the simulator's row: dmmalloc's core, uninstrumented.
  EXPECT_EQ(native["native_events_per_second"], sim["native_events_per_second"]);
  EXPECT_GT(native["ratio"].get<double>(), 0);
  EXPECT_TRUE(j["sim_geomean"].contains("native:dmmalloc")) << j["sim_geomean"].dump();
  // Misuse: not NAME=native:..., a NAME not measured, a library that does not load.
  for (const std::string& bad : {"dmmalloc=" + lib, "glibc=native:" + lib, std::string("dmmalloc=native:/nonexistent/x.so")}) {
    const Result b = pprsim("bench " + kSample + " --alloc dmmalloc --sim-native " + bad + kQuick);
    EXPECT_EQ(b.status, 2) << bad << ": " << b.out;
    EXPECT_NE(b.out.find("pprsim: "), std::string::npos) << b.out;
  }
}

TEST(Bench, TablePrintsEveryAllocatorAndTheSkipNotes) {
  const Result r = pprsim("bench " + kSample + kQuick);
  ASSERT_EQ(r.status, 0) << r.out;
  for (const char* a : {"glibc", "dmmalloc", "comalloc", "jemalloc", "mimalloc", "tcmalloc", "geomean", "utilization"}) {
    EXPECT_NE(r.out.find(a), std::string::npos) << a;
  }
}

TEST(Bench, BadInputAndUsageExitTwoWithNothingWritten) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto bad = dir / "pprsim_bench_bad.trace";
  std::ofstream(bad) << "pprtrace 1\na 0 10\nf 5\n";
  const auto out = dir / "pprsim_bench_out.json";
  std::filesystem::remove(out);
  Result r = pprsim("bench " + bad.string() + kQuick + " --json " + out.string());
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find(bad.string() + ":3:"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_EQ(pprsim("bench " + kSample + " --alloc nosuch").status, 2);
  EXPECT_EQ(pprsim("bench").status, 2);
  EXPECT_EQ(pprsim("bench /no/such/file").status, 2);
  EXPECT_EQ(pprsim("bench " + kSample + " --rounds 0").status, 2);
}

TEST(Bench, PreloadAddsALibraryAsAnAllocatorOfItsOwn) {
  // The drop-in twice under two names, each a row measured through LD_PRELOAD; the trace
  // stays a trace after the option (one library per --preload).
  const Result r = pprsim("bench --alloc glibc --preload a=" + std::string(PPRSIM_DMMALLOC_LIB) + " --preload b=" +
                              PPRSIM_DMMALLOC_LIB + " " + kSample + kQuick + " --json -",
                          false);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["results"].size(), 3u);
  for (const auto& e : j["results"]) {
#if defined(__SANITIZE_ADDRESS__)
    if (e["allocator"] != "glibc") continue;
#endif
    EXPECT_EQ(e["status"], "ok") << e.dump();
    EXPECT_EQ(e["operations"].get<int>(), 30 + 7);
  }
  EXPECT_EQ(j["allocators"][1]["name"], "a");
  EXPECT_EQ(j["allocators"][1]["library"], PPRSIM_DMMALLOC_LIB);
  EXPECT_EQ(pprsim("bench " + kSample + " --preload nolib").status, 2);
  EXPECT_EQ(pprsim("bench " + kSample + " --preload dmmalloc=" + PPRSIM_DMMALLOC_LIB).status, 2);  // taken
  EXPECT_EQ(pprsim("bench " + kSample + " --preload x=/no/such.so").status, 2);
}

TEST(Bench, ChildRefusesADescriptorWithoutAProgram) {
  const Result r = pprsim("bench-child --program-fd 0 --alloc glibc < /dev/null");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("no bench program"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace pprsim
