// pprsim record: real programs recorded through glibc's own tracing, and the errors for what it
// cannot record. Skipped, with the reason, where glibc's libc_malloc_debug.so.0 is missing.
#include <elf.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "props/tests/test_support.h"
#include "traces/trace_reader.h"

namespace pprsim {
namespace {

namespace fs = std::filesystem;

using CmdResult = test::CommandResult;

// Runs `pprsim ARGS` in `dir` (through the shell, so ARGS is shell text), with the environment
// assignments `env` ("NAME=VALUE ...") added.
CmdResult pprsim_in(const fs::path& dir, const std::string& args, const std::string& env = "") {
  const std::string cmd =
      "cd '" + dir.string() + "' && " + env + " " + PPRSIM_BINARY + " " + args + " 2>&1";
  return test::run_shell(cmd);
}

// Where a program is in PATH, or "".
std::string which(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const fs::path p = fs::path(dirs.substr(start, end - start)) / name;
    if (::access(p.c_str(), X_OK) == 0 && fs::is_regular_file(p)) return p.string();
    start = end + 1;
  }
  return "";
}

// Whether `path` is an ELF program without a PT_INTERP (statically linked).
bool is_static_elf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Elf64_Ehdr eh{};
  in.read(reinterpret_cast<char*>(&eh), sizeof eh);
  if (!in || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64)
    return false;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    in.seekg(static_cast<std::streamoff>(eh.e_phoff + std::uint64_t{i} * sizeof ph));
    in.read(reinterpret_cast<char*>(&ph), sizeof ph);
    if (!in) return false;
    if (ph.p_type == PT_INTERP) return false;
  }
  return true;
}

// The events of a native trace, read with the validating reader.
std::vector<Event> events_of(const fs::path& p) {
  auto reader = open_trace(p.string());
  EXPECT_EQ(reader->format(), TraceFormat::Native);
  std::vector<Event> out;
  Event ev;
  while (reader->next(ev)) out.push_back(ev);
  return out;
}

class Record : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("pprsim_record_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Skips the test where glibc's tracing library is missing (as pprsim itself finds it).
  void require_tracing() {
    const CmdResult r = pprsim_in(dir_, "record -o t.trace -- true");
    if (r.out.find("tracing library") != std::string::npos &&
        r.out.find("is missing") != std::string::npos)
      GTEST_SKIP() << "glibc's libc_malloc_debug.so.0 is missing here: " << r.out;
    ASSERT_EQ(r.status, 0) << r.out;
  }

  // The "events" of pprsim record's summary line: "recorded NAME: N events, M objects, W
  // warnings -> FILE" (0 when there is no such line).
  static std::uint64_t summary_events(const std::string& out) {
    const std::size_t at = out.find("recorded ");
    if (at == std::string::npos) return 0;
    const std::size_t colon = out.find(": ", at);
    const std::size_t events = out.find(" events, ", at);
    if (colon == std::string::npos || events == std::string::npos || events < colon) return 0;
    if (out.find(" objects, ", events) == std::string::npos ||
        out.find(" warnings -> ", events) == std::string::npos)
      return 0;
    return std::stoull(out.substr(colon + 2, events - colon - 2));
  }

  fs::path dir_;
};

TEST_F(Record, RecordsARealProgram) {
  require_tracing();
  if (IsSkipped()) return;
  // perl is part of every Debian system; python3 where it is present.
  std::vector<std::string> commands;
  if (!which("perl").empty())
    commands.push_back(
        "perl -e 'my %h; $h{$_} = [$_ x 3] for 1 .. 3000; print scalar(keys %h), qq(\\n)'");
  if (!which("python3").empty())
    commands.push_back("python3 -c 'import json; json.dumps(list(range(10000)))'");
  if (commands.empty()) GTEST_SKIP() << "neither perl nor python3 is installed";
  for (const std::string& command : commands) {
    SCOPED_TRACE(command);
    const CmdResult r = pprsim_in(dir_, "record -o prog.trace -- " + command);
    ASSERT_EQ(r.status, 0) << r.out;
    const std::uint64_t said = summary_events(r.out);
    EXPECT_GT(said, 2000u) << r.out;
    const auto events = events_of(dir_ / "prog.trace");
    EXPECT_EQ(events.size(), said);
    std::uint64_t allocs = 0, frees = 0;
    for (const Event& e : events) {
      allocs += e.op == Op::Malloc ? 1 : 0;
      frees += e.op == Op::Free ? 1 : 0;
    }
    EXPECT_GT(allocs, 1000u);
    EXPECT_GT(frees, 100u);
    // The header says what was recorded.
    std::ifstream in(dir_ / "prog.trace");
    std::string first;
    std::getline(in, first);
    EXPECT_EQ(first.rfind("# recorded by pprsim record (glibc mtrace): ", 0), 0u) << first;
  }
}

TEST_F(Record, DefaultOutputIsCommandDotTraceHere) {
  require_tracing();
  if (IsSkipped()) return;
  if (which("perl").empty()) GTEST_SKIP() << "perl is not installed";
  const CmdResult r = pprsim_in(dir_, "record -- perl -e 'my @a = map { [$_] } 1 .. 500'");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(fs::exists(dir_ / "perl.trace")) << r.out;
  EXPECT_GT(events_of(dir_ / "perl.trace").size(), 500u);
}

TEST_F(Record, WritesTheTraceWhenTheProgramFails) {
  require_tracing();
  if (IsSkipped()) return;
  if (which("perl").empty()) GTEST_SKIP() << "perl is not installed";
  CmdResult r =
      pprsim_in(dir_, "record -o fail.trace -- perl -e 'my @a = map { [$_] } 1 .. 500; exit 3'");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(
      r.out.find("pprsim: note: perl exited with status 3; the trace is written all the same"),
      std::string::npos)
      << r.out;
  EXPECT_GT(events_of(dir_ / "fail.trace").size(), 500u);
  // Killed: the cut end of glibc's output is dropped, the rest converts.
  r = pprsim_in(dir_,
                "record -o killed.trace -- perl -e 'my @a = map { [$_] } 1 .. 5000; kill 9, $$'");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("perl was killed by signal 9"), std::string::npos) << r.out;
  EXPECT_GT(events_of(dir_ / "killed.trace").size(), 1000u);
}

TEST_F(Record, ForkedChildrenAndExecsInPlace) {
  require_tracing();
  if (IsSkipped()) return;
  if (which("perl").empty() || which("sh").empty()) GTEST_SKIP() << "perl or sh is not installed";
  // The child of a fork stops tracing; the parent's trace stays whole.
  CmdResult r =
      pprsim_in(dir_,
                "record -o fork.trace -- perl -e 'my @a = map { [$_] } 1 .. 2000; my $p = fork; "
                "my @b = map { [$_] } 1 .. 2000; exit 0 unless $p; waitpid $p, 0; "
                "my @c = map { [$_] } 1 .. 2000'");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_GT(events_of(dir_ / "fork.trace").size(), 4000u);
  // A wrapper that execs the program: the program's calls are what remains.
  r = pprsim_in(
      dir_, "record -o exec.trace -- sh -c 'exec perl -e \"my @a = map { [\\$_] } 1 .. 3000\"'");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_GT(events_of(dir_ / "exec.trace").size(), 3000u);
}

TEST_F(Record, StaticProgramIsAnError) {
  std::string program;
  for (const char* p : {"/sbin/ldconfig", "/usr/sbin/ldconfig", "/bin/busybox", "/usr/bin/busybox"})
    if (fs::exists(p) && is_static_elf(p)) program = p;
  if (program.empty()) GTEST_SKIP() << "no statically linked program found here";
  const CmdResult r = pprsim_in(dir_, "record -o s.trace -- " + program + " -p");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("pprsim: record: " + program + " is statically linked"), std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "s.trace"));
}

TEST_F(Record, MissingCommandIsAnError) {
  CmdResult r = pprsim_in(dir_, "record -o m.trace -- pprsim-no-such-command-here");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("pprsim: record: command not found: pprsim-no-such-command-here"),
            std::string::npos)
      << r.out;
  r = pprsim_in(dir_, "record -o m.trace -- ./nothing-here");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("command not found: ./nothing-here"), std::string::npos) << r.out;
  r = pprsim_in(dir_, "record -o m.trace");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "m.trace"));
}

TEST_F(Record, NotAProgramIsAnError) {
  std::ofstream(dir_ / "data.txt") << "just text\n";
  fs::permissions(dir_ / "data.txt", fs::perms::owner_all);
  CmdResult r = pprsim_in(dir_, "record -o n.trace -- ./data.txt");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("is neither an ELF program nor a '#!' script"), std::string::npos) << r.out;
  std::ofstream(dir_ / "plain.txt") << "#!/bin/sh\n";
  fs::permissions(dir_ / "plain.txt", fs::perms::owner_read | fs::perms::owner_write);
  r = pprsim_in(dir_, "record -o n.trace -- ./plain.txt");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "n.trace"));
}

TEST_F(Record, MissingLibraryIsAnError) {
  const CmdResult r = pprsim_in(dir_, "record -o l.trace -- true",
                                "PPRSIM_MALLOC_DEBUG_LIB=/nonexistent/libc_malloc_debug.so.0");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("glibc's malloc tracing library is missing"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "l.trace"));
}

}  // namespace
}  // namespace pprsim
