// SIGINT, SIGTERM and SIGHUP in the middle of a long command: every temporary file pprsim made
// is removed, the folder is as it was before, and the exit status is 128 + the signal.
// Every run is bounded: a command that does not end within its deadline is killed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include "props/tests/tools/cli_support.h"

namespace pprsim {
namespace {

using namespace test;
using Clock = std::chrono::steady_clock;

// pprsim started in `dir` with `args` (and extra environment), not waited for.
pid_t start_pprsim(const fs::path& dir, const std::vector<std::string>& args,
                   const std::vector<std::string>& env = {}) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    ::alarm(120);  // survives the exec: the run ends by itself whatever the test does
    for (const std::string& e : env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> argv{const_cast<char*>(PPRSIM_BINARY)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    // Standard output and error to nothing: the tests look at files and statuses only.
    ::freopen("/dev/null", "w", stdout);
    ::execv(PPRSIM_BINARY, argv.data());
    ::_exit(127);
  }
  return pid;
}

// Waits up to `seconds` for `ready`; false when it never came.
bool wait_for(const std::function<bool()>& ready, double seconds) {
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// Waits for `pid` to end (killing it after `seconds`); its exit status, or -signal.
int reap(pid_t pid, double seconds) {
  int status = 0;
  const bool ended = wait_for([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, seconds);
  if (!ended) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return -1000;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

bool has_file_ending(const fs::path& dir, const std::string& suffix, std::uintmax_t min_size) {
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    std::error_code ec;
    if (name.ends_with(suffix) && fs::file_size(e.path(), ec) >= min_size && !ec) return true;
  }
  return false;
}

// Whether `pid` still runs (a zombie waiting to be reaped does not).
bool running(pid_t pid) {
  const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

// The child of `parent` that runs the program `name`, or 0.
pid_t child_named(pid_t parent, const std::string& name) {
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = slurp(e.path() / "stat");
    const auto open = stat.find('(');
    const auto close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close + 4 > stat.size()) continue;
    if (stat.substr(open + 1, close - open - 1) != name) continue;
    if (std::stol(stat.substr(close + 4)) == parent) return std::stoi(pid);
  }
  return 0;
}

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};

TEST(Signals, GenKilledMidRunLeavesNothing) {
  for (const int sig : kSignals) {
    TempDir dir("sig_gen");
    write_all(dir / "x.trace", "kept as it was\n");
    const auto before = listing(dir.path());
    const pid_t pid = start_pprsim(dir.path(), {"gen", "--events", "1000000000", "-o", "x.trace"});
    // Killed once it has written a good part of its temporary file.
    ASSERT_TRUE(wait_for([&] { return has_file_ending(dir.path(), ".tmp", 1 << 20); }, 60))
        << "gen made no temporary file";
    ::kill(pid, sig);
    EXPECT_EQ(reap(pid, 30), 128 + sig) << strsignal(sig);
    EXPECT_EQ(listing(dir.path()), before) << strsignal(sig);
    EXPECT_EQ(slurp(dir / "x.trace"), "kept as it was\n");
  }
}

TEST(Signals, ReplayKilledMidRunLeavesNothing) {
  TempDir dir("sig_replay");
  const CliResult g = run_pprsim(dir.path(), "gen --events 2000000 --seed 5 -o big.trace");
  ASSERT_EQ(g.status, 0) << g.out;
  for (const int sig : kSignals) {
    const auto before = listing(dir.path());
    const pid_t pid = start_pprsim(
        dir.path(), {"replay", "big.trace", "--group-size", "4", "--ppr-every", "8", "--json",
                     "run.json"});
    ASSERT_TRUE(wait_for([&] { return has_file_ending(dir.path(), ".tmp", 0); }, 60))
        << "replay made no temporary file for its JSON";
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ::kill(pid, sig);
    EXPECT_EQ(reap(pid, 30), 128 + sig) << strsignal(sig);
    EXPECT_EQ(listing(dir.path()), before) << strsignal(sig);
  }
}

TEST(Signals, RecordKilledMidRunLeavesNothingAndEndsTheProgram) {
  if (::access("/usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0", F_OK) != 0 &&
      ::access("/lib/x86_64-linux-gnu/libc_malloc_debug.so.0", F_OK) != 0)
    GTEST_SKIP() << "glibc's libc_malloc_debug.so.0 is missing here";
  // SIGINT while the program runs is the program's (as with system()): a terminal's Ctrl-C
  // stops the program and the trace of what it did is written. SIGTERM and SIGHUP end pprsim.
  for (const int sig : {SIGTERM, SIGHUP}) {
    TempDir dir("sig_record");
    TempDir tmp("sig_record_tmp");  // where record puts glibc's mtrace output
    const auto before = listing(dir.path());
    const std::string tmpdir = "TMPDIR=" + tmp.path().string();
    // The program: a long sleep (pprsim's child once it has exec'd).
    const pid_t pid = start_pprsim(dir.path(), {"record", "-o", "out.trace", "--", "sleep", "60"},
                                   {tmpdir});
    pid_t child = 0;
    ASSERT_TRUE(wait_for([&] { return (child = child_named(pid, "sleep")) > 0; }, 60));
    ASSERT_TRUE(has_file_ending(tmp.path(), ".mtrace", 0));
    ::kill(pid, sig);
    EXPECT_EQ(reap(pid, 30), 128 + sig) << strsignal(sig);
    EXPECT_EQ(listing(dir.path()), before) << strsignal(sig);
    EXPECT_TRUE(listing(tmp.path()).empty()) << "the mtrace file is left: " << strsignal(sig);
    EXPECT_TRUE(wait_for([&] { return !running(child); }, 30))
        << "the recorded program still runs after " << strsignal(sig) << ": "
        << slurp("/proc/" + std::to_string(child) + "/stat");
    ::kill(child, SIGKILL);
  }
}

}  // namespace
}  // namespace pprsim

namespace pprsim {
namespace {

using namespace test;

// A reader that closes standard output early (`| head -c1`) costs the text, never the files:
// every file output is written completely, no temporary file is left, and the status is that
// of a broken pipe (141), with no error on standard error (only where the files went, when
// standard output carries an output itself). The trace comes through a pipe fed
// only after the reader has gone, so that every write to standard output finds it closed.
TEST(Signal, AClosedStandardOutputStillWritesEveryFile) {
  TempDir dir("sig_pipe");
  write_all(dir / "in.trace", slurp(test::kSample));
  for (const std::string& outputs :
       {std::string("--json - --html out.html"), std::string("--json out.json --html out.html")}) {
    const std::string cmd = "cd '" + dir.path().string() + "' && ({ sleep 0.5; cat in.trace; } | timeout -s KILL 60 " +
                            PPRSIM_BINARY + " replay /dev/stdin --alloc dmmalloc,comalloc " + outputs +
                            " 2> err; echo $? > status) | true";
    run_shell(cmd);
    EXPECT_EQ(slurp(dir / "status"), "141\n") << outputs;
    const bool json_to_stdout = outputs.find("--json -") != std::string::npos;
    EXPECT_EQ(slurp(dir / "err"), json_to_stdout ? "written: out.html\n" : "") << outputs;
    const std::string html = slurp(dir / "out.html");
    EXPECT_NE(html.find("</html>"), std::string::npos) << outputs;
    if (outputs.find("out.json") != std::string::npos) {
      EXPECT_NE(slurp(dir / "out.json").find("\"allocator\": \"comalloc\""), std::string::npos);
    }
    for (const std::string& f : listing(dir.path())) EXPECT_FALSE(f.ends_with(".tmp")) << outputs << ": " << f;
    for (const char* f : {"out.html", "out.json", "status", "err"}) fs::remove(dir / f);
  }
}

}  // namespace
}  // namespace pprsim
