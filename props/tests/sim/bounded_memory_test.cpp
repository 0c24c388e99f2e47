// Simulated bytes that were only pattern-filled cost no real memory, huge fills inside tasks do
// not blow up the access log, and a run that would need more real memory than --max-resident
// stops with exit 2 and one line (never std::bad_alloc).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "props/tests/test_support.h"
#include "sim/address_space.h"
#include "sim/pattern.h"
#include "sim/resident.h"
#include "traces/generator.h"
#include "traces/trace_writer.h"

namespace pprsim {
using pprsim::test::problem_texts;
namespace {

constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;

// A field of /proc/self/status in bytes ("VmRSS", "VmHWM"), -1 when absent.
long long status_bytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1)) * 1024;
  }
  return -1;
}

// Runs `body` in a forked child; returns how far the child's resident set rose above what it
// held when it started (-1: the body failed). The child starts with its parent's resident
// pages, and after a sanitizer build's earlier tests those alone can be hundreds of MiB.
template <class Body>
long long child_rss_growth(Body body) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    const long long start = status_bytes("VmRSS");
    const bool ok = body();
    const long long peak = status_bytes("VmHWM");
    long long growth = ok && start >= 0 && peak >= start ? peak - start : -1;
    const bool sent = ::write(fds[1], &growth, sizeof growth) == static_cast<ssize_t>(sizeof growth);
    ::_exit(sent ? 0 : 1);
  }
  ::close(fds[1]);
  long long growth = -1;
  if (::read(fds[0], &growth, sizeof growth) != static_cast<ssize_t>(sizeof growth)) growth = -1;
  ::close(fds[0]);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return growth;
}

TEST(BoundedMemory, AFourGibObjectReplaysInLittleRealMemory) {
  const long long growth = child_rss_growth([] {
    const RunStats s = test::replay_text("pprtrace 1\na 0 4294967296\nw 0 4096 100\nu 0 0 4294967296\nf 0\n",
                                         test::config("dmmalloc", 1));
    return s.verified;
  });
  ASSERT_GE(growth, 0) << "the replay failed";
  EXPECT_LT(growth, 256ll << 20) << "resident set grew by " << growth << " bytes for a 4 GiB object";
}

TEST(BoundedMemory, PatternPagesHoldNoBytesAndReadBackExactly) {
  AddressSpace s;
  const Addr base = Addr{1} << 40;
  s.map(base, 64 * kPageSize);
  s.fill_pattern(base + 16, 64 * kPageSize - 16, 7, 3, base + 16);
  EXPECT_LE(s.private_pages(), 2u) << "only the partial first page holds bytes";
  for (std::uint64_t off : {std::uint64_t{0}, std::uint64_t{8}, 5 * kPageSize - 16, 63 * kPageSize - 24}) {
    EXPECT_EQ(s.load64(base + 16 + off), pattern_word(7, 3, off / 8)) << off;
  }
  AddressSpace child = s.fork();
  child.store64(base + 16 + 8 * kPageSize, 42);  // materialises one page in the child only
  EXPECT_EQ(child.load64(base + 16 + 8 * kPageSize), 42u);
  EXPECT_EQ(child.load64(base + 24 + 8 * kPageSize), pattern_word(7, 3, kPageSize + 1));
  EXPECT_EQ(s.load64(base + 16 + 8 * kPageSize), pattern_word(7, 3, kPageSize));
}

TEST(BoundedMemory, HugeWritesInsideTasksStayCheap) {
  ResidentMeter::current().reset_peak();
  const std::uint64_t before = ResidentMeter::current().held();
  const RunStats s = test::replay_text(
      "pprtrace 1\na 0 1073741824\nppr\nw 0 0 1073741824\nend\nppr\na 1 64\nend\nu 0 0 1073741824\n",
      test::config("dmmalloc", 2));
  EXPECT_TRUE(s.verified) << (problem_texts(s.findings).empty() ? s.failure : problem_texts(s.findings).front());
  EXPECT_LT(ResidentMeter::current().peak() - before, std::uint64_t{128} << 20)
      << "a 1 GiB fill in a task is logged and committed without its bytes";
}

// Over many groups the heap stays near the sequential run's: what tasks grow is adopted at
// commit, and the carve hands it to later tasks rather than letting them grow again.
TEST(BoundedMemory, GrowthInsideTasksDoesNotPileUpOverGroups) {
  GenOptions opt;
  opt.seed = 3;
  opt.events = 120000;
  std::ostringstream text;
  TraceWriter w(text);
  generate(opt, w);
  for (const char* alloc : {"dmmalloc", "comalloc"}) {
    const RunStats seq = test::replay_text(text.str(), test::config(alloc, 1));
    const RunStats spec = test::replay_text(text.str(), test::config(alloc, 8));
    ASSERT_TRUE(spec.verified) << alloc << ": " << spec.failure;
    ASSERT_GT(spec.groups, 200u);
    EXPECT_GT(spec.adopted_bytes, 0u) << alloc;
    EXPECT_LT(spec.peak_system_bytes, 4 * seq.peak_system_bytes)
        << alloc << ": " << spec.peak_system_bytes << " bytes at G=8 against " << seq.peak_system_bytes
        << " sequentially, after " << spec.task_grown_bytes << " bytes grown inside tasks";
  }
}

TEST(BoundedMemory, ExhaustionIsOneLineAndExitTwo) {
  const auto path = std::filesystem::temp_directory_path() / "pprsim_bounded_4g.trace";
  std::ofstream(path) << "pprtrace 1\na 0 4294967296\n";
  const std::string cmd = std::string(PPRSIM_BINARY) + " replay " + path.string() + " --max-resident 1M 2>&1";
  const auto [status, out] = test::run_shell(cmd);
  std::filesystem::remove(path);
  EXPECT_EQ(status, 2) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_NE(out.find("--max-resident 1048576"), std::string::npos) << out;
}

TEST(BoundedMemory, ResidentLimitIsAnExceptionNotAnAbort) {
  EXPECT_THROW(test::replay_text("pprtrace 1\na 0 1073741824\nw 0 0 1073741824\n", [] {
                 ReplayConfig c = test::config("dmmalloc", 1);
                 c.max_resident = std::uint64_t{1} << 20;
                 return c;
               }()),
               ResidentLimitExceeded)
      << "a 1 GiB object needs 2 MiB of page-table nodes";
}

}  // namespace
}  // namespace pprsim
