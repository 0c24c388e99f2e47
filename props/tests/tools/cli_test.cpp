// The command line as a user meets it: exit statuses, error lines, JSON keys, determinism.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>

#include "props/tests/test_support.h"

namespace pprsim {
namespace {

using Result = test::CommandResult;


std::string temp_file(const std::string& name, const std::string& text) {
  const auto p = std::filesystem::temp_directory_path() / ("pprsim_cli_" + name);
  std::ofstream(p) << text;
  return p.string();
}

using test::kSample;

TEST(Cli, EveryFileOutputSaysWhereItWent) {
  test::TempDir d("written");
  const std::string json = (d.path() / "run.json").string();
  const std::string html = (d.path() / "run.html").string();
  const Result files = test::run_shell(std::string(PPRSIM_BINARY) + " replay " + kSample + " --json " + json +
                                       " --html " + html + " 2>/dev/null");
  ASSERT_EQ(files.status, 0) << files.out;
  EXPECT_TRUE(files.out.ends_with("written: " + json + "\nwritten: " + html + "\n")) << files.out;
  // With the JSON on standard output, the line goes to standard error.
  const Result piped =
      test::run_shell(std::string(PPRSIM_BINARY) + " replay " + kSample + " --json - --html " + html + " 2>&1 >/dev/null");
  EXPECT_EQ(piped.out, "written: " + html + "\n");
}

TEST(Cli, SampleVerifiesAndExitsZero) {
  const Result r = test::run_pprsim("replay " + kSample + " --group-size 4");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("VERIFIED"), std::string::npos) << r.out;
}

// A misspelt command or option is named, with the nearest known one: one line, exit 2.
TEST(Cli, AMisspeltCommandOrOptionSuggestsTheNearest) {
  struct Case {
    std::string args, line;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"repaly x", "pprsim: unknown command 'repaly'; did you mean 'replay'?\n"},
           {"shrnk x", "pprsim: unknown command 'shrnk'; did you mean 'shrink'?\n"},
           {"--versoin", "pprsim: unknown option '--versoin'; did you mean '--version'?\n"},
           {"replay --sed 3 " + kSample, "pprsim: replay: unknown option '--sed'; did you mean '--seed'?\n"},
           {"replay " + kSample + " --seed 3 --jsn -", "pprsim: replay: unknown option '--jsn'; did you mean '--json'?\n"},
           {"shrink " + kSample + " --ot x.trace", "pprsim: shrink: unknown option '--ot'; did you mean '--out'?\n"},
           {"gen --evnets=3", "pprsim: gen: unknown option '--evnets'; did you mean '--events'?\n"},
       }) {
    const Result r = test::run_pprsim(c.args);
    EXPECT_EQ(r.status, 2) << c.args;
    EXPECT_EQ(r.out, c.line) << c.args;
  }
  // Nothing near: the known names instead of a guess.
  const Result far = test::run_pprsim("frobnicate");
  EXPECT_EQ(far.status, 2);
  EXPECT_NE(far.out.find("unknown command 'frobnicate' (known: replay, "), std::string::npos) << far.out;
  EXPECT_EQ(far.out.find("bench-child"), std::string::npos) << far.out;
  // A negative number is a value, not an option: the parser's own message.
  const Result negative = test::run_pprsim("replay " + kSample + " --seed -1");
  EXPECT_EQ(negative.status, 2);
  EXPECT_NE(negative.out.find("--seed"), std::string::npos) << negative.out;
  EXPECT_EQ(negative.out.find("unknown"), std::string::npos) << negative.out;
  // What follows record's "--" is the program's.
  const Result program = test::run_pprsim("record -o /nonexistent/dir/x.trace -- true --sed");
  EXPECT_EQ(program.out.find("unknown option"), std::string::npos) << program.out;
}

TEST(Cli, JsonHasTheContractKeys) {
  const Result r = test::run_pprsim("replay " + kSample + " --group-size 4 --json -");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"trace", "allocator", "group_size", "seed", "events", "groups", "committed", "aborted",
                          "understudy_wins", "conflicts", "lost_blocks", "double_allocations",
                          "content_mismatches", "verified", "seconds", "conflicts_detail", "rescues",
                          "reserved_bytes", "task_allocated_bytes"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_TRUE(j["conflicts"].contains("allocator_induced"));
  EXPECT_TRUE(j["conflicts"].contains("true_dependence"));
  EXPECT_EQ(j["events"], 37);
  for (const auto& c : j["conflicts_detail"]) {
    for (const char* key : {"group", "first_task", "second_task", "kind", "class", "addr", "len", "what",
                            "first_line", "second_line"}) {
      EXPECT_TRUE(c.contains(key)) << key;
    }
  }
}

// How many heap checks were full censuses: the last always is; with --full-check-every 1 all are.
TEST(Cli, JsonCountsTheFullHeapChecks) {
  const Result r = test::run_pprsim("replay " + kSample + " --group-size 4 --json -");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.contains("full_heap_checks"));
  EXPECT_GE(j["full_heap_checks"].get<int>(), 1);
  EXPECT_LT(j["full_heap_checks"].get<int>(), j["heap_checks"].get<int>());
  const Result all = test::run_pprsim("replay " + kSample + " --group-size 4 --full-check-every 1 --json -");
  ASSERT_EQ(all.status, 0) << all.out;
  const auto k = nlohmann::json::parse(all.out);
  EXPECT_EQ(k["full_heap_checks"], k["heap_checks"]);
}

TEST(Cli, SameSeedGivesByteIdenticalJsonApartFromSeconds) {
  PPRSIM_REQUIRE_CSAPP(dir);
  const std::string trace = (dir / "amptjp-bal.rep").string();
  for (const char* seed : {"1", "2"}) {
    auto once = [&] {
      const Result r = test::run_pprsim("replay " + trace + " --group-size 4 --ppr-every 20 --seed " + seed + " --json -");
      auto j = nlohmann::json::parse(r.out);
      j.erase("seconds");
      return j.dump();
    };
    EXPECT_EQ(once(), once()) << "seed " << seed;
  }
}

TEST(Cli, BadInputIsOneLineWithFileAndLineAndExitTwo) {
  const std::string f = temp_file("bad.trace", "pprtrace 1\na 1 10\nz 3\n");
  const Result r = test::run_pprsim("replay " + f);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find(f + ":3:"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
}

TEST(Cli, BadInputLeavesNoJsonBehind) {
  const std::string f = temp_file("bad2.trace", "pprtrace 1\nf 7\n");
  const auto out = std::filesystem::temp_directory_path() / "pprsim_cli_out.json";
  std::filesystem::remove(out);
  const Result r = test::run_pprsim("replay " + f + " --json " + out.string());
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(test::run_pprsim("").status, 2);
  EXPECT_EQ(test::run_pprsim("replay").status, 2);
  EXPECT_EQ(test::run_pprsim("replay " + kSample + " --alloc nosuch").status, 2);
  EXPECT_EQ(test::run_pprsim("replay " + kSample + " --group-size 0").status, 2);
  EXPECT_EQ(test::run_pprsim("replay " + kSample + " --understudy sometimes").status, 2);
  EXPECT_EQ(test::run_pprsim("replay /no/such/file").status, 2);
}

TEST(Cli, FailedCheckExitsOne) {
  const std::string f = temp_file("shared.trace", "pprtrace 1\na 1 40\na 2 40\na 3 40\nppr\nf 1\nend\nppr\nf 2\nend\n");
  const Result r = test::run_pprsim("replay " + f + " --alloc shared --group-size 2 --understudy never");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("lost"), std::string::npos) << r.out;
}

TEST(Cli, SeveralTracesAndAllocatorsPrintOneTable) {
  const Result r = test::run_pprsim("replay " + kSample + " " + kSample + " --alloc all --group-size 2");
  EXPECT_NE(r.out.find("allocator"), std::string::npos);
  EXPECT_GE(std::count(r.out.begin(), r.out.end(), '\n'), 5) << r.out;
}

}  // namespace
}  // namespace pprsim
