// The command line tells you where it is: a progress line on a terminal (and only there), a
// version, and help that names every allocator and every value an option takes.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "alloc/mutants.h"
#include "props/tests/test_support.h"
#include "tools/progress_line.h"

namespace pprsim {
namespace {

namespace fs = std::filesystem;

// What `pprsim ARGS` wrote when its standard error (and input) was a terminal and its standard
// output went to `out_file`: the terminal's bytes and the exit status. The child is killed if it
// runs longer than 120 s.
struct TtyRun {
  int status = -1;
  std::string terminal;
};

TtyRun run_on_terminal(const std::vector<std::string>& args, const fs::path& out_file, unsigned short columns = 0) {
  TtyRun r;
  int master = -1;
  winsize ws{};
  ws.ws_row = 24;
  ws.ws_col = columns;
  const pid_t pid = ::forkpty(&master, nullptr, nullptr, columns != 0 ? &ws : nullptr);
  if (pid < 0) return r;
  if (pid == 0) {
    FILE* out = std::freopen(out_file.c_str(), "w", stdout);
    if (out == nullptr) _exit(127);
    std::vector<char*> argv;
    std::string binary = PPRSIM_BINARY;
    argv.push_back(binary.data());
    std::vector<std::string> copy = args;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  char buf[4096];
  for (;;) {
    pollfd p{master, POLLIN, 0};
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      break;
    }
    if (::poll(&p, 1, 200) <= 0) {
      int st = 0;
      if (::waitpid(pid, &st, WNOHANG) == pid) {
        r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        ::close(master);
        return r;
      }
      continue;
    }
    const ssize_t n = ::read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO: the child closed the terminal
    r.terminal.append(buf, static_cast<std::size_t>(n));
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  ::close(master);
  return r;
}

// A generated trace of `events` operations with PPR markers.
fs::path make_trace(const test::TempDir& d, int events) {
  const fs::path t = d.path() / "big.trace";
  const auto r = test::run_pprsim(fmt::format("gen --events {} --seed 3 --ppr 0.5 -o {}", events, t.string()));
  EXPECT_EQ(r.status, 0) << r.out;
  return t;
}

TEST(ProgressLine, ReplayOnATerminalShowsEventsRateAndTimeLeft) {
  test::TempDir d("progress");
  const fs::path trace = make_trace(d, 200000);
  const TtyRun r = run_on_terminal({"replay", trace.string(), "--group-size", "4", "--json", "-"}, d.path() / "out.json");
  ASSERT_EQ(r.status, 0) << r.terminal;
  // Redrawn in place: a carriage return and erase-line before each state.
  EXPECT_NE(r.terminal.find("\r\033[Kreplay "), std::string::npos) << r.terminal;
  EXPECT_TRUE(std::regex_search(r.terminal, std::regex(R"(\d+ events, \d+ groups, [0-9.]+[kM]? events/s)"))) << r.terminal;
  // The file's size is known, so the line says how long is left.
  EXPECT_TRUE(std::regex_search(r.terminal, std::regex(R"(~\d+(h\d\dm|m\d\ds|s) left)"))) << r.terminal;
  // And the line is gone before the command ends: the last thing drawn erases it.
  EXPECT_EQ(r.terminal.substr(r.terminal.rfind('\r')), "\r\033[K") << r.terminal;
  // Standard output carries the JSON alone.
  std::ifstream in(d.path() / "out.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j["events"].get<int>(), 200000);
}

TEST(ProgressLine, FitColumnsKeepsWholeCharacters) {
  EXPECT_EQ(fit_columns("replay big.trace", 6), "replay");
  EXPECT_EQ(fit_columns("short", 80), "short");
  EXPECT_EQ(fit_columns("\xc3\xa9t\xc3\xa9 trace", 3), "\xc3\xa9t\xc3\xa9");  // "été": 3 columns, 5 bytes
  EXPECT_EQ(fit_columns("", 3), "");
}

TEST(ProgressLine, TheLineFitsTheTerminalAndMovesWhenEveryEventIsChecked) {
  test::TempDir d("progress");
  const fs::path trace = make_trace(d, 20000);
  // Every event checked in full: slow per event, so a line drawn by event count sat still.
  const TtyRun r = run_on_terminal({"replay", trace.string(), "--group-size", "4", "--check-every", "1",
                                    "--full-check-every", "1", "--json", "-"},
                                   d.path() / "out.json", 40);
  ASSERT_EQ(r.status, 0) << r.terminal;
  std::vector<std::string> drawn;
  for (std::size_t at = r.terminal.find("\r\033[K"); at != std::string::npos;) {
    const std::size_t from = at + 4;
    const std::size_t next = r.terminal.find("\r\033[K", from);
    drawn.push_back(r.terminal.substr(from, next == std::string::npos ? std::string::npos : next - from));
    at = next;
  }
  ASSERT_GE(drawn.size(), 2u) << r.terminal;
  for (const std::string& line : drawn) EXPECT_LE(line.size(), 39u) << line;  // ASCII: a byte a column
  // The first state is drawn at once, a few hundred events in (it waited for 16,384 before),
  // figures first so that the cut takes the path.
  EXPECT_TRUE(drawn.front().starts_with("replay 256 events, 0 groups, ")) << drawn.front();
}

TEST(ProgressLine, QuietOrNotATerminalShowsNothing) {
  test::TempDir d("progress");
  const fs::path trace = make_trace(d, 60000);
  const TtyRun quiet = run_on_terminal({"replay", trace.string(), "--quiet"}, d.path() / "out.txt");
  ASSERT_EQ(quiet.status, 0) << quiet.terminal;
  EXPECT_EQ(quiet.terminal.find('\r'), std::string::npos) << quiet.terminal;
  const TtyRun fuzz = run_on_terminal({"fuzz", "--runs", "50", "--jobs", "1", "--quiet", "--out", (d.path() / "cx").string()},
                                      d.path() / "fuzz.txt");
  ASSERT_EQ(fuzz.status, 0) << fuzz.terminal;
  EXPECT_EQ(fuzz.terminal.find('\r'), std::string::npos) << fuzz.terminal;
  // Standard error to a pipe: no line either.
  const auto piped = test::run_pprsim("replay " + trace.string());
  ASSERT_EQ(piped.status, 0) << piped.out;
  EXPECT_EQ(piped.out.find('\r'), std::string::npos);
}

TEST(ProgressLine, FuzzOnATerminalShowsRunsRateAndTimeLeft) {
  test::TempDir d("progress");
  const TtyRun r = run_on_terminal({"fuzz", "--runs", "300", "--jobs", "1", "--out", (d.path() / "cx").string()},
                                   d.path() / "fuzz.txt");
  ASSERT_EQ(r.status, 0) << r.terminal;
  EXPECT_TRUE(std::regex_search(r.terminal, std::regex(R"(fuzz dmmalloc: run \d+/300, 0 failing, [0-9.]+[kM]? runs/s)")))
      << r.terminal;
}

TEST(ProgressLine, RatesAndTimeLeftRead) {
  EXPECT_EQ(rate_text(500, 1), "500");
  EXPECT_EQ(rate_text(12345, 1), "12.3k");
  EXPECT_EQ(rate_text(3e6, 2), "1.5M");
  EXPECT_EQ(rate_text(5, 0), "");
  EXPECT_EQ(time_left(1, 4, 10), "~30s left");
  EXPECT_EQ(time_left(1, 10, 10), "~1m30s left");
  EXPECT_EQ(time_left(1, 1000, 10), "~2h46m left");
  EXPECT_EQ(time_left(0, 10, 10), "") << "nothing done yet: no estimate";
  EXPECT_EQ(time_left(10, 0, 10), "") << "total unknown";
}

TEST(CommandLine, VersionIsOneLine) {
  const auto r = test::run_pprsim("--version");
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(std::regex_match(r.out, std::regex("pprsim \\d+\\.\\d+\\.\\d+\n"))) << r.out;
}

TEST(CommandLine, EveryHelpWithAnAllocatorNamesEveryAllocator) {
  for (const char* command : {"replay", "fuzz", "selftest", "shrink"}) {
    const auto r = test::run_pprsim(std::string(command) + " --help");
    ASSERT_EQ(r.status, 0) << command;
    // CLI11 folds long descriptions; compare without the line breaks and indentation.
    const std::string help = std::regex_replace(r.out, std::regex("\\s+"), " ");
    for (const char* name : {"dmmalloc", "comalloc", "shared", "example", "mutant:NAME", "plugin:PATH.so", "native:SOURCES,port=PORT.c"}) {
      EXPECT_NE(help.find(name), std::string::npos) << command << " --help lacks " << name << ":\n" << r.out;
    }
    for (const MutantInfo& m : kMutants) {
      EXPECT_NE(help.find(m.name), std::string::npos) << command << " --help lacks mutant " << m.name;
    }
  }
  for (const char* command : {"replay", "fuzz", "shrink"}) {
    const std::string help = std::regex_replace(test::run_pprsim(std::string(command) + " --help").out, std::regex("\\s+"), " ");
    for (const char* kind : {"task-abort", "oom", "fork-fail", "understudy-win", "pressure"}) {
      EXPECT_NE(help.find(kind), std::string::npos) << command << " --help lacks fault kind " << kind;
    }
  }
  for (const char* command : {"replay", "shrink"}) {
    const std::string help = std::regex_replace(test::run_pprsim(std::string(command) + " --help").out, std::regex("\\s+"), " ");
    for (const char* mode : {"auto", "never", "always"}) {
      EXPECT_NE(help.find(mode), std::string::npos) << command << " --help lacks understudy mode " << mode;
    }
  }
}

}  // namespace
}  // namespace pprsim
