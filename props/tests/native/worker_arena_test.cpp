// The native worker's heap memory (native/engine/worker_arena.h): MAIN's regions are a memory
// file mapped shared; a forked worker sees MAIN's bytes as they were at the fork and keeps what
// it writes to itself; a region unmapped and mapped again reads as zero; an adopted worker's
// bytes become the ones its own forks see.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "native/engine/worker_arena.h"
#include "native/engine/worker_protocol.h"

namespace pprsim {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kArenaFree = false;  // AddressSanitizer's shadow memory lies where the arena is
#else
constexpr bool kArenaFree = true;
#endif

constexpr std::uint64_t kPage = 4096;
// Far from what a worker's own tests might use, inside the arena.
constexpr std::uint64_t kBase = wire::kArenaBase + (std::uint64_t{7} << 36);

unsigned char* at(std::uint64_t a) { return reinterpret_cast<unsigned char*>(a); }

// Runs `child` in a forked process; its exit status (0: every expectation there held).
template <class F>
int in_child(F child) {
  const pid_t pid = fork();
  if (pid == 0) _exit(child() ? 0 : 1);
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

class WorkerArenaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!kArenaFree) GTEST_SKIP() << "the sanitizers' shadow memory sits where the arena is";
    arena.open();
  }
  void TearDown() override {
    if (kArenaFree) arena.unmap(kBase, 8 * kPage);
  }
  WorkerArena arena;
};

TEST_F(WorkerArenaTest, AForkSeesTheHeapAsAtTheForkAndKeepsItsWritesToItself) {
  ASSERT_TRUE(arena.map(kBase, 2 * kPage, false));
  ASSERT_TRUE(arena.map(kBase + 2 * kPage, kPage, false));  // adjacent: one run for the fork
  std::memset(at(kBase), 'm', 3 * kPage);
  const int status = in_child([this] {
    if (!arena.detach_after_fork()) return false;
    bool ok = at(kBase)[0] == 'm' && at(kBase + 3 * kPage - 1)[0] == 'm';
    std::memset(at(kBase), 't', 3 * kPage);  // the task's own writes
    // An unmap in the task gives nothing of MAIN's back.
    arena.unmap(kBase + 2 * kPage, kPage);
    return ok && at(kBase + kPage)[0] == 't';
  });
  EXPECT_EQ(status, 0);
  EXPECT_EQ(at(kBase)[0], 'm') << "the task's writes reached MAIN";
  EXPECT_EQ(at(kBase + 3 * kPage - 1)[0], 'm');
}

TEST_F(WorkerArenaTest, ARegionMappedAgainReadsAsZero) {
  ASSERT_TRUE(arena.map(kBase, kPage, false));
  std::memset(at(kBase), 'x', kPage);
  arena.unmap(kBase, kPage);
  ASSERT_TRUE(arena.map(kBase, kPage, false));
  EXPECT_EQ(at(kBase)[0], 0);
  EXPECT_EQ(at(kBase)[kPage - 1], 0);
  // A region adopted at commit replaces a stale mapping and reads as zero too.
  std::memset(at(kBase), 'y', kPage);
  ASSERT_TRUE(arena.map(kBase, kPage, true));
  EXPECT_EQ(at(kBase)[0], 0);
  at(kBase)[0] = 'z';
  EXPECT_FALSE(arena.map(kBase, kPage, false)) << "a range already mapped is refused";
  EXPECT_EQ(at(kBase)[0], 'z') << "and what it holds is left alone";
}

TEST_F(WorkerArenaTest, AnAdoptedWorkersBytesAreWhatItsForksSee) {
  ASSERT_TRUE(arena.map(kBase, 2 * kPage, false));
  std::memset(at(kBase), 'm', 2 * kPage);
  // The understudy: forked, writes, maps a region of its own, becomes MAIN, forks a task.
  const int status = in_child([this] {
    if (!arena.detach_after_fork()) return false;
    std::memset(at(kBase), 'u', kPage);  // one page written, the other only MAIN's
    if (!arena.map(kBase + 4 * kPage, kPage, false)) return false;
    at(kBase + 4 * kPage)[0] = 'n';
    if (!arena.adopt()) return false;
    const int task = in_child([this] {
      if (!arena.detach_after_fork()) return false;
      const bool seen = at(kBase)[0] == 'u' && at(kBase + kPage)[0] == 'm' && at(kBase + 4 * kPage)[0] == 'n';
      at(kBase)[0] = 't';
      return seen;
    });
    return task == 0 && at(kBase)[0] == 'u';
  });
  EXPECT_EQ(status, 0);
  EXPECT_EQ(at(kBase)[0], 'm') << "the understudy's writes reached the old MAIN";
  arena.unmap(kBase + 4 * kPage, kPage);
}

}  // namespace
}  // namespace pprsim
