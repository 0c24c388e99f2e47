// pprsim fuzz --jobs/--shard and pprsim report as a user meets them: the same JSON whatever the
// jobs, shards merging into the one-run JSON, refusals with exit status 2, crashed workers
// reported, SIGINT ending every worker.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>

extern char** environ;

#include "props/tests/test_support.h"

namespace pprsim {
namespace {

using Result = test::CommandResult;


class FuzzCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("pprsim_fuzz_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  nlohmann::json json_of(const std::string& name) const {
    std::ifstream in(path(name));
    auto j = nlohmann::json::parse(in);
    j.erase("seconds");
    return j;
  }
  std::filesystem::path dir_;
};

TEST_F(FuzzCli, JobsGiveTheSameJsonApartFromSeconds) {
  const std::string common = "fuzz --alloc shared --runs 60 --seed 3 --keep-going --out " + path("ce");
  const Result one = test::run_pprsim(common + " --jobs 1 --json " + path("one.json"));
  const Result two = test::run_pprsim(common + " --jobs 2 --json " + path("two.json"));
  EXPECT_EQ(one.status, 1) << one.out;
  EXPECT_EQ(two.status, 1) << two.out;
  EXPECT_EQ(json_of("one.json"), json_of("two.json"));
  EXPECT_GT(json_of("one.json")["failures"].get<int>(), 1);
  // The same lines too, apart from the timing on the last.
  EXPECT_EQ(one.out.substr(0, one.out.rfind("seed 3")), two.out.substr(0, two.out.rfind("seed 3")));
}

TEST_F(FuzzCli, ACounterexampleFolderThatIsNotUtf8IsWrittenIntoTheJson) {
  // Its name goes into the JSON (the counterexamples' paths): replaced, never an abort.
  const Result r = test::run_pprsim("fuzz --alloc shared --runs 20 --seed 1 --out " + path("cx\xff") + " --json " + path("out.json"));
  EXPECT_EQ(r.status, 1) << r.out;
  const std::string text = test::slurp(path("out.json"));
  EXPECT_NE(text.find("cx\xef\xbf\xbd"), std::string::npos) << text;  // U+FFFD
  EXPECT_TRUE(nlohmann::json::accept(text));
}

TEST_F(FuzzCli, ShardsMergeIntoTheOneRunJson) {
  for (const char* stop : {"", " --keep-going"}) {
    const std::string common = std::string("fuzz --alloc shared --runs 50 --seed 5 --out ") + path("ce") + stop;
    ASSERT_EQ(test::run_pprsim(common + " --json " + path("whole.json")).status, 1);
    std::string shards;
    for (const char* k : {"1/3", "2/3", "3/3"}) {
      const std::string name = std::string("shard") + k[0] + ".json";
      const Result r = test::run_pprsim(common + " --jobs 2 --shard " + k + " --json " + path(name));
      ASSERT_NE(r.status, 2) << r.out;
      shards = path(name) + " " + shards;  // any order
    }
    const Result merged = test::run_pprsim("report " + shards + " --json " + path("merged.json"));
    EXPECT_EQ(merged.status, 1) << merged.out;
    // Coverage is summed over every run a shard checked (a shard may check runs past the first
    // failure of the whole campaign), without pairs: the rest is the one-process JSON.
    const auto without_coverage = [](nlohmann::json j) {
      j.erase("coverage");
      return j;
    };
    const nlohmann::json m = json_of("merged.json");
    EXPECT_EQ(without_coverage(m), without_coverage(json_of("whole.json"))) << stop;
    EXPECT_GE(m["coverage"]["exercised"], json_of("whole.json")["coverage"]["exercised"]);
    EXPECT_EQ(m["coverage"]["paths"], json_of("whole.json")["coverage"]["paths"]);
    const Result to_stdout = test::run_pprsim("report " + shards + " --json -");
    auto j = nlohmann::json::parse(to_stdout.out);
    j.erase("seconds");
    EXPECT_EQ(without_coverage(j), without_coverage(json_of("whole.json")));
  }
}

TEST_F(FuzzCli, ReportRefusesShardsOfOtherCampaignsMissingOrTwice) {
  const std::string common = "fuzz --alloc dmmalloc --runs 6 --seed 1 --out " + path("ce");
  for (const char* k : {"1/2", "2/2"}) {
    ASSERT_EQ(test::run_pprsim(common + " --shard " + k + " --json " + path(std::string("s") + k[0] + ".json")).status, 0);
  }
  ASSERT_EQ(test::run_pprsim("fuzz --alloc dmmalloc --runs 6 --seed 2 --shard 2/2 --json " + path("seed2.json")).status, 0);
  ASSERT_EQ(test::run_pprsim("fuzz --alloc dmmalloc --runs 7 --shard 2/2 --json " + path("runs7.json")).status, 0);
  ASSERT_EQ(test::run_pprsim("fuzz --alloc comalloc --runs 6 --shard 2/2 --json " + path("comalloc.json")).status, 0);
  ASSERT_EQ(test::run_pprsim("fuzz --alloc dmmalloc --runs 6 --shard 2/3 --json " + path("of3.json")).status, 0);
  EXPECT_EQ(test::run_pprsim("report " + path("s1.json") + " " + path("s2.json")).status, 0);
  struct Case {
    std::string inputs, says;
  };
  for (const Case& c : {Case{path("s1.json"), "shard 2/2 is missing"},
                        Case{path("s1.json") + " " + path("s1.json"), "given twice"},
                        Case{path("s1.json") + " " + path("seed2.json"), "seed"},
                        Case{path("s1.json") + " " + path("runs7.json"), "requested runs"},
                        Case{path("s1.json") + " " + path("comalloc.json"), "allocator"},
                        Case{path("s1.json") + " " + path("of3.json"), "shard count"},
                        Case{path("nothing.json"), "nothing.json"}}) {
    const Result r = test::run_pprsim("report " + c.inputs + " --json " + path("out.json"));
    EXPECT_EQ(r.status, 2) << c.inputs << "\n" << r.out;
    EXPECT_NE(r.out.find(c.says), std::string::npos) << r.out;
    EXPECT_FALSE(std::filesystem::exists(path("out.json")));
  }
  std::ofstream(path("bad.json")) << "{\"allocator\": ";
  const Result bad = test::run_pprsim("report " + path("bad.json"));
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.out.find("bad.json"), std::string::npos) << bad.out;
}

TEST_F(FuzzCli, JsonCarriesTheVersionAndReportRefusesShardsOfTwoVersions) {
  const std::string common = "fuzz --alloc dmmalloc --runs 4 --seed 1 --out " + path("ce");
  ASSERT_EQ(test::run_pprsim(common + " --shard 1/2 --json " + path("s1.json")).status, 0);
  ASSERT_EQ(test::run_pprsim(common + " --shard 2/2 --json " + path("s2.json")).status, 0);
  const std::string version = test::run_pprsim("--version").out;
  const std::string own = json_of("s1.json")["version"].get<std::string>();
  ASSERT_FALSE(own.empty());
  EXPECT_EQ(version, "pprsim " + own + "\n");
  EXPECT_EQ(test::run_pprsim("report " + path("s1.json") + " " + path("s2.json")).status, 0);
  auto other = json_of("s2.json");
  other["version"] = "0.0.1-other";
  other["seconds"] = 0.5;
  std::ofstream(path("old.json")) << other.dump();
  const Result r = test::run_pprsim("report " + path("s1.json") + " " + path("old.json") + " --json " + path("out.json"));
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  for (const std::string& says : {own, std::string("0.0.1-other"), path("old.json")}) {
    EXPECT_NE(r.out.find(says), std::string::npos) << says << "\n" << r.out;
  }
  EXPECT_FALSE(std::filesystem::exists(path("out.json")));
}

// `pprsim ARGS` killed after 60 s, with the seconds it took.
std::pair<Result, double> timed(const std::string& args) {
  const auto t0 = std::chrono::steady_clock::now();
  const Result r = test::run_shell("timeout -s KILL 60 " + std::string(PPRSIM_BINARY) + " " + args + " 2>&1");
  return {r, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()};
}

TEST_F(FuzzCli, OutputsAreCheckedBeforeTheFirstRun) {
  std::ofstream(path("afile")) << "keep me\n";
  std::filesystem::create_directories(path("adir"));
  // A refusal must come before any run: within the time limit, well before it ends.
  const std::string common = "fuzz --alloc shared --runs 100000000 --keep-going --jobs 1 --max-seconds 3";
  struct Case {
    std::string args, option;
  };
  for (const Case& c : {Case{" --json " + path("nodir/x.json") + " --out " + path("ce"), "--json"},
                        Case{" --json " + path("adir") + " --out " + path("ce"), "--json"},
                        Case{" --json " + path("afile/x.json") + " --out " + path("ce"), "--json"},
                        Case{" --out " + path("afile"), "--out"},
                        Case{" --out " + path("afile/sub"), "--out"},
                        Case{" --out " + path("afile") + " --json " + path("out.json"), "--out"}}) {
    const auto [r, seconds] = timed(common + c.args);
    EXPECT_EQ(r.status, 2) << c.args << "\n" << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find("pprsim: " + c.option), std::string::npos) << r.out;
    EXPECT_LT(seconds, 1.5) << c.args;
  }
  {
    std::ifstream in(path("afile"));
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "keep me");
  }
  EXPECT_FALSE(std::filesystem::exists(path("out.json")));
  EXPECT_FALSE(std::filesystem::exists(path("ce")));
  // A folder that does not exist yet is made when the first counterexample is written.
  const Result ok = test::run_pprsim("fuzz --alloc shared --runs 5 --jobs 1 --out " + path("new/deeper") + " --json " + path("ok.json"));
  EXPECT_EQ(ok.status, 1) << ok.out;
  EXPECT_TRUE(std::filesystem::is_directory(path("new/deeper")));
}

TEST_F(FuzzCli, MaxSecondsHoldsAndSaysHowManyRunsWereCut) {
  // The shared allocator fails often and every failure is shrunk: runs that take long.
  const auto [r, seconds] = timed("fuzz --alloc shared --runs 100000000 --keep-going --max-seconds 1 --jobs 2 --out " +
                                      path("ce") + " --json " + path("out.json"));
  EXPECT_EQ(r.status, 1) << r.out;
  // The limit plus a grace for stopping the workers and writing out; generous, as the machine
  // may be loaded (without the limit this campaign runs for days).
  EXPECT_LT(seconds, 4.0) << r.out;
  EXPECT_NE(r.out.find("cut at the time limit"), std::string::npos) << r.out;
  const auto j = json_of("out.json");
  // What was counted is a prefix of the campaign, and every counterexample among it was written.
  for (const auto& c : j["counterexamples"]) {
    EXPECT_LT(c["run"].get<int>(), j["runs"].get<int>());
    EXPECT_TRUE(std::filesystem::exists(c["trace"].get<std::string>()));
  }
}

std::string test_plugin(const std::string& variant) { return std::string(PPRSIM_PLUGIN_DIR) + "/pprsim_test_plugin_" + variant + ".so"; }

TEST_F(FuzzCli, ARunThatHangsIsStoppedAndWrittenAsHung) {
  // free() never returns: fuzz used to wait for it for ever.
  const auto [r, seconds] = timed("fuzz --alloc plugin:" +
                                  test_plugin("hang_free") + " --runs 1000 --max-seconds 2 --jobs 2 --out " +
                                      path("ce") + " --json " + path("out.json"));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_LT(seconds, 5.0) << r.out;  // the limit, and a grace as above
  const auto j = json_of("out.json");
  ASSERT_EQ(j["failures"], 1) << j.dump();
  const auto& c = j["counterexamples"][0];
  EXPECT_EQ(c["violated"][0].get<std::string>().rfind("the run hung", 0), 0u) << c.dump();
  EXPECT_TRUE(std::filesystem::exists(c["trace"].get<std::string>()));
  // Its own limit: a run hangs after --case-seconds without progress.
  const auto [quick, quick_seconds] = timed("fuzz --alloc plugin:" +
                                            test_plugin("hang_free") + " --runs 1000 --case-seconds 0.3 --jobs 1 --out " +
                                            path("ce2"));
  EXPECT_EQ(quick.status, 1) << quick.out;
  EXPECT_LT(quick_seconds, 2) << quick.out;
  EXPECT_NE(quick.out.find("the run hung: no replay of it returned within 0.3 s"), std::string::npos) << quick.out;
}

TEST_F(FuzzCli, APluginCrashOrAbortIsAFailedRun) {
  for (const char* variant : {"crash_malloc", "abort_malloc"}) {
    const Result r = test::run_pprsim("fuzz --alloc plugin:" + test_plugin(variant) + " --runs 20 --jobs 1 --max-seconds 20 --out " +
                                      path("ce") + " --json " + path("out.json"));
    EXPECT_EQ(r.status, 1) << variant << "\n" << r.out;
    const auto j = json_of("out.json");
    ASSERT_EQ(j["failures"], 1) << j.dump();
    EXPECT_NE(j["counterexamples"][0]["violated"][0].get<std::string>().find("crashed"), std::string::npos) << j.dump();
  }
}

TEST_F(FuzzCli, CounterexampleEventsAreWhatReplayCounts) {
  // This mutant faults, which stops the run: events after the fault are never read by replay
  // (runs 73 and 79 had frees appended there and counted by fuzz alone).
  ASSERT_EQ(test::run_pprsim("fuzz --alloc mutant:usable-too-large --runs 100 --seed 1 --keep-going --out " + path("ce") +
                             " --json " + path("out.json"))
                .status,
            1);
  const auto j = json_of("out.json");
  ASSERT_GT(j["counterexamples"].size(), 3u);
  for (const auto& c : j["counterexamples"]) {
    const std::string command = c["command"].get<std::string>();
    ASSERT_EQ(command.rfind("pprsim ", 0), 0u) << command;
    const Result replay = test::run_pprsim(command.substr(7) + " --json " + path("replay.json"));
    EXPECT_EQ(replay.status, 1) << replay.out;
    std::ifstream in(path("replay.json"));
    const auto run = nlohmann::json::parse(in);
    const auto& one = run.is_array() ? run[0] : run;
    EXPECT_EQ(one["events"], c["events"]) << command;
    // The events of the file itself: every line but the header, comments and the PPR markers.
    std::ifstream trace(c["trace"].get<std::string>());
    std::size_t events = 0;
    bool header = true;
    for (std::string line; std::getline(trace, line);) {
      if (line.empty() || line[0] == '#') continue;
      if (header) {
        header = false;
        continue;
      }
      if (line != "ppr" && line != "end") ++events;
    }
    EXPECT_EQ(events, c["events"].get<std::size_t>()) << command;
  }
}

TEST_F(FuzzCli, BadJobsOrShardExitTwoNamingTheOption) {
  for (const char* bad : {"--jobs 0", "--jobs -1", "--jobs x", "--jobs 1.5", "--shard 0/2", "--shard 3/2",
                          "--shard 1", "--shard 1/0", "--shard a/b", "--shard 1/2/3", "--shard -1/2"}) {
    const Result r = test::run_pprsim(std::string("fuzz --runs 1 ") + bad + " --json " + path("out.json"));
    EXPECT_EQ(r.status, 2) << bad << "\n" << r.out;
    const std::string option = std::string(bad).substr(0, std::string(bad).find(' '));
    EXPECT_NE(r.out.find(option), std::string::npos) << bad << "\n" << r.out;
    EXPECT_FALSE(std::filesystem::exists(path("out.json")));
  }
}

// The worker processes of `parent` (its children).
std::set<pid_t> children_of(pid_t parent) {
  std::set<pid_t> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(line.c_str() + close + 1, " %c %d", &state, &ppid) == 2 && ppid == parent && state != 'Z') {
      out.insert(std::stoi(name));
    }
  }
  return out;
}

pid_t spawn_pprsim(const std::vector<std::string>& args, const std::string& output) {
  std::vector<std::string> argv{PPRSIM_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, PPRSIM_BINARY, &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

// Waits until `pid` has `n` live children; returns them (empty after the deadline).
std::set<pid_t> wait_for_children(pid_t pid, std::size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto kids = children_of(pid);
    if (kids.size() >= n) return kids;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return {};
}

int wait_status(pid_t pid) {
  int st = 0;
  ::waitpid(pid, &st, 0);
  return st;
}

TEST_F(FuzzCli, AKilledWorkerIsAFailedRunWithItsCase) {
  const pid_t pid = spawn_pprsim({"fuzz", "--runs", "100000000", "--jobs", "2", "--out", path("ce"), "--json",
                                  path("out.json")},
                                 path("log"));
  ASSERT_GT(pid, 0);
  const auto kids = wait_for_children(pid, 2);
  ASSERT_EQ(kids.size(), 2u);
  ::kill(*kids.begin(), SIGKILL);
  const int st = wait_status(pid);
  std::ifstream log(path("log"));
  const std::string out((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  ASSERT_TRUE(WIFEXITED(st)) << out;
  EXPECT_EQ(WEXITSTATUS(st), 1) << out;
  const auto j = json_of("out.json");
  ASSERT_EQ(j["failures"], 1) << j.dump();
  const auto& c = j["counterexamples"][0];
  EXPECT_NE(c["violated"][0].get<std::string>().find("killed by signal 9"), std::string::npos) << c.dump();
  EXPECT_TRUE(std::filesystem::exists(c["trace"].get<std::string>()));
  EXPECT_EQ(j["runs"].get<int>(), c["run"].get<int>() + 1);
}

TEST_F(FuzzCli, SigintEndsEveryWorker) {
  const pid_t pid = spawn_pprsim({"fuzz", "--runs", "100000000", "--jobs", "2", "--out", path("ce")}, path("log"));
  ASSERT_GT(pid, 0);
  const auto kids = wait_for_children(pid, 2);
  ASSERT_EQ(kids.size(), 2u);
  ::kill(pid, SIGINT);
  const int st = wait_status(pid);
  EXPECT_TRUE(WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) == 130)) << st;
  // Orphaned workers are reparented and reaped by someone else, so look for them by pid: within
  // a few seconds none may run any more.
  auto running = [](pid_t k) {
    std::ifstream stat("/proc/" + std::to_string(k) + "/stat");
    std::string line;
    return std::getline(stat, line) && line.find(") Z") == std::string::npos;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (const pid_t k : kids) {
    while (running(k) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_FALSE(running(k)) << "worker " << k << " still runs";
  }
}

}  // namespace
}  // namespace pprsim
