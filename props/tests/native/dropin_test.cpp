// libpprsim_dmmalloc.so as a drop-in: its C checks (API, errno, threads, fork, PPR hooks), and
// real programs that print the same under it as under glibc's malloc.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>

#include "props/tests/test_support.h"

namespace pprsim {
namespace {

using Result = test::CommandResult;

using test::run_command;

const std::string kPreload = std::string("LD_PRELOAD=") + PPRSIM_DMMALLOC_LIB + " ";

bool have(const std::string& program) { return run_command("command -v " + program).status == 0; }

// The command's output under glibc and under the drop-in: equal, and the run succeeded.
void same_output(const std::string& cmd) {
  const Result plain = run_command(cmd);
  ASSERT_EQ(plain.status, 0) << cmd << "\n" << plain.out;
  const Result dropped = run_command(kPreload + cmd);
  EXPECT_EQ(dropped.status, 0) << cmd << "\n" << dropped.out;
  EXPECT_EQ(dropped.out, plain.out) << cmd;
  EXPECT_FALSE(plain.out.empty());
}

TEST(DropIn, CChecksOfTheApiThreadsForkAndPprHooksPass) {
  const Result r = run_command(std::string("timeout 120 ") + PPRSIM_DROPIN_CHECK);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("drop-in checks passed"), std::string::npos) << r.out;
}

// One check of the C helper by name: it passed.
void expect_check_passes(const std::string& name) {
  const Result r = run_command(std::string("timeout 120 ") + PPRSIM_DROPIN_CHECK + " " + name);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find(name + ": passed"), std::string::npos) << r.out;
}

TEST(DropIn, HooksCalledOutOfPlaceFailWithEinvalAndChangeNothing) {
  // task_init(7) in a group of 2, a second task_init, group_init in an open group,
  // understudy_init in a task or outside a group, task_state outside a task, merge with more
  // committed tasks than the group has.
  expect_check_passes("hooks-misuse");
}

TEST(DropIn, AbsurdTaskCountsAreEinvalAndNoMemoryIsEnomemNeverAnException) {
  // group_init(1 << 30) threw std::bad_alloc through the C API (the process aborted).
  expect_check_passes("group-limits");
}

TEST(DropIn, GroupInitFailsWithEnomemWhenTheSlicesAreRefused) {
  // It returned 0, and every task of the group gave up as soon as it needed memory.
  expect_check_passes("slices-refused");
}

TEST(DropIn, ATaskWhoseBookkeepingFindsNoMemoryGivesUpInsteadOfThrowing) {
  expect_check_passes("task-out-of-memory");
}

TEST(DropIn, OneThreadSplitsACachedBlockBeforeCuttingFreshMemory) {
  expect_check_passes("split-cached");
}

TEST(DropIn, MemoryFreedInABurstGoesBackWhileTheHeapIsNotGrowing) {
  // 187 MB stayed resident before the trim (24 MB with it).
  expect_check_passes("idle-after-burst");
}

TEST(DropIn, AProgramThatReusesWhatItFreedIsNotTrimmedAtEveryRound) {
  expect_check_passes("trim-hysteresis");
}

// With threads the caches give blocks back a list at a time, and those frees ask for the trim:
// before, a process with a second thread gave nothing back while its heap was not growing
// (about 200 MB of the 200 MB freed stayed resident).
TEST(DropIn, WithThreadsMemoryFreedInABurstGoesBackToo) {
  expect_check_passes("idle-after-burst-threads");
}

TEST(DropIn, WithThreadsAProgramThatReusesWhatItFreedIsNotTrimmedAtEveryRound) {
  expect_check_passes("trim-hysteresis-threads");
}

// A trim runs under the lock while the other threads go on through their caches without it.
TEST(DropIn, TrimsWhileOtherThreadsWorkKeepEveryLiveObjectsBytes) {
  expect_check_passes("trim-while-threads-work");
}

// Two threads taking turns never hold blocks on one cache line (a run cut afresh starts a line).
TEST(DropIn, ThreadsTakingTurnsKeepCacheLinesOfTheirOwn) {
  expect_check_passes("threads-keep-their-own-lines");
}

// A buffer that leaves the heap for a region of its own gives back the pages of the block it left.
TEST(DropIn, ABufferMovedToARegionGivesBackThePagesItLeft) {
  expect_check_passes("moved-buffer-gives-its-pages-back");
}

// `cmd` (which prints "ptr P" before it misuses P) ends by SIGABRT, having written
// "pprsim_dmmalloc: CALL(P): WHY" on standard error.
void expect_abort(const std::string& cmd, const std::string& call, const std::string& why) {
  const Result r = run_command("ulimit -c 0; " + cmd + " 2>&1; echo \"exit $?\"");
  const auto at = r.out.find("ptr 0x");
  ASSERT_NE(at, std::string::npos) << cmd << "\n" << r.out;
  const std::string ptr = r.out.substr(at + 4, r.out.find('\n', at) - at - 4);
  EXPECT_NE(r.out.find("pprsim_dmmalloc: " + call + "(" + ptr + "): " + why + "\n"), std::string::npos)
      << cmd << "\n" << r.out;
  EXPECT_NE(r.out.find("exit 134\n"), std::string::npos) << cmd << "\n" << r.out;  // 128 + SIGABRT
  EXPECT_EQ(r.out.find("the misuse passed"), std::string::npos) << cmd << "\n" << r.out;
}

void expect_misuse_aborts(const std::string& kind, const std::string& call, const std::string& why) {
  SCOPED_TRACE(kind);
  expect_abort(std::string("timeout 60 ") + PPRSIM_DROPIN_CHECK + " misuse " + kind, call, why);
}

// Heap misuse ended with exit status 0 before: free and the rest ignored what they could not
// use. Now it is found from the block header (and the span of memory the library mapped).
TEST(DropIn, DoubleFreeAborts) {
  expect_misuse_aborts("double-free", "free", "double free");
  expect_misuse_aborts("free-aligned-twice", "free", "double free");
  expect_misuse_aborts("free-large-twice", "free", "double free");
}

// A buffer grown into the top is flagged in its header (dm::kGrown), so its free takes the slow
// path to the core, which gives it back to the top: freed again, it is memory the heap no longer
// hands out, and the flag must not let the second free through.
TEST(DropIn, ADoubleFreeOfABufferGrownIntoTheTopAborts) {
  expect_misuse_aborts("free-grown-twice", "free", "not a block this allocator handed out");
}

TEST(DropIn, FreeOfMemoryItNeverHandedOutAborts) {
  expect_misuse_aborts("free-stack", "free", "not a block this allocator handed out");
  expect_misuse_aborts("free-static", "free", "not a block this allocator handed out");
}

TEST(DropIn, FreeOfAPointerIntoABlockAborts) {
  expect_misuse_aborts("free-interior", "free", "pointer into the middle of a block");
  expect_misuse_aborts("free-unaligned", "free", "pointer into the middle of a block");
  expect_misuse_aborts("free-large-interior", "free", "pointer into the middle of a block");
}

TEST(DropIn, ReallocAndUsableSizeOfABadPointerAbort) {
  expect_misuse_aborts("realloc-freed", "realloc", "block already freed");
  expect_misuse_aborts("realloc-interior", "realloc", "pointer into the middle of a block");
  expect_misuse_aborts("usable-size-freed", "malloc_usable_size", "block already freed");
}

TEST(DropIn, PreloadedDoubleFreeInAnotherProgramAborts) {
  if (!have("python3")) GTEST_SKIP() << "python3 not installed";
  expect_abort(kPreload +
                   "python3 -c 'import ctypes, sys; c = ctypes.CDLL(None); c.malloc.restype = ctypes.c_void_p; "
                   "c.free.argtypes = [ctypes.c_void_p]; p = c.malloc(100); print(\"ptr\", hex(p)); "
                   "sys.stdout.flush(); c.free(p); c.free(p); print(\"the misuse passed\")'",
               "free", "double free");
}

TEST(DropIn, PreloadedItServesMallocInAnotherProgram) {
  // dmmalloc's smallest block leaves 16 usable bytes; glibc's 24.
  if (!have("python3")) GTEST_SKIP() << "python3 not installed";
  const std::string cmd =
      "python3 -c 'import ctypes; c = ctypes.CDLL(None); c.malloc.restype = ctypes.c_void_p; "
      "c.malloc_usable_size.argtypes = [ctypes.c_void_p]; print(c.malloc_usable_size(c.malloc(1)))'";
  EXPECT_EQ(run_command(kPreload + cmd).out, "16\n");
  EXPECT_NE(run_command(cmd).out, "16\n");
}

TEST(DropIn, PreloadingItLoadsNoOtherLibrary) {
  // A C program under it maps the library and what the program maps anyway, nothing more: with
  // the C++ runtime as a library of its own, every preloaded process loaded and relocated it
  // (a started /bin/true took 1.6 ms instead of 0.95 ms).
  const Result maps = run_command(kPreload + "cat /proc/self/maps");
  ASSERT_EQ(maps.status, 0) << maps.out;
  EXPECT_NE(maps.out.find("libpprsim_dmmalloc"), std::string::npos) << maps.out;
  for (const char* runtime : {"libstdc++", "libgcc_s", "libm.so"}) {
    EXPECT_EQ(maps.out.find(runtime), std::string::npos) << runtime << " was loaded:\n" << maps.out;
  }
}

TEST(DropIn, Python) {
  if (!have("python3")) GTEST_SKIP() << "python3 not installed";
  same_output("python3 -c 'import json; d = {str(i): list(range(i % 50)) for i in range(20000)}; "
              "s = json.dumps(d, sort_keys=True); print(len(s), sum(len(v) for v in json.loads(s).values()))'");
}

TEST(DropIn, Perl) {
  if (!have("perl")) GTEST_SKIP() << "perl not installed";
  same_output("perl -e 'my %h; $h{$_} = $_ x ($_ % 17) for 1..100000; my $n = 0; $n += length($h{$_}) for keys %h; "
              "print scalar(keys %h), \" $n\\n\"'");
}

TEST(DropIn, Awk) {
  if (!have("awk")) GTEST_SKIP() << "awk not installed";
  same_output("awk 'BEGIN { for (i = 0; i < 100000; i++) a[i] = i \"x\" i; n = 0; for (k in a) n += length(a[k]); "
              "delete a; print n }'");
}

TEST(DropIn, Sort) {
  if (!have("sort")) GTEST_SKIP() << "sort not installed";
  same_output("seq 100000 | sed 's/$/ line/' | sort -r -k1,1n | md5sum");
}

TEST(DropIn, GccCompile) {
  if (!have("g++")) GTEST_SKIP() << "g++ not installed";
  const auto dir = std::filesystem::temp_directory_path() / "pprsim_dropin_gcc";
  std::filesystem::create_directories(dir);
  const auto src = dir / "prog.cpp";
  std::ofstream(src) << "#include <iostream>\n#include <map>\n#include <string>\n"
                        "int main() { std::map<std::string, int> m; for (int i = 0; i < 1000; ++i) "
                        "m[std::to_string(i)] = i * i; long s = 0; for (auto& [k, v] : m) s += v + k.size(); "
                        "std::cout << s << '\\n'; }\n";
  // The assembly g++ writes is the same under both allocators, and the program runs.
  same_output("g++ -O2 -S -o - " + src.string() + " | md5sum");
  const Result built = run_command(kPreload + "g++ -O2 -o " + (dir / "prog").string() + " " + src.string());
  ASSERT_EQ(built.status, 0) << built.out;
  EXPECT_EQ(run_command((dir / "prog").string()).out, "332836390\n");  // squares of 0..999 plus 2890 digits
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pprsim
