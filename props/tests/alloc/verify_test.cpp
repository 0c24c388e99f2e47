// verify(): each allocator's own invariants hold through whole runs (the paranoid check level
// on every property case), and a corruption is named at its cause, with the trace line.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdlib>
#include <string>

#include "alloc/comalloc.h"
#include "alloc/dmmalloc.h"
#include "alloc/mutants.h"
#include "alloc/native_memory.h"
#include "alloc/ppr_allocator.h"
#include "alloc/shared.h"
#include "props/run_case.h"
#include "props/tests/test_support.h"
#include "sim/process.h"

namespace pprsim {
namespace {

using test::config;
using test::replay_text;

static_assert(PprAllocator<DmMalloc<NativeMemory>, NativeMemory>);
static_assert(PprAllocator<CoMalloc<NativeMemory>, NativeMemory>);
static_assert(PprAllocator<SharedMalloc<NativeMemory>, NativeMemory>);
static_assert(PprAllocator<DmMallocMutant<NativeMemory>, NativeMemory>);
static_assert(PprAllocator<DmMalloc<SimMemory>, SimMemory>);

RunStats paranoid_run(const RunCase& c, const std::string& alloc) {
  ReplayConfig cfg = config(alloc, c.group_size, 0, c.seed, c.understudy);
  cfg.faults = c.faults;
  cfg.check_every = 16;
  cfg.paranoid = true;
  return replay_text(trace_text(c), cfg);
}

RC_GTEST_PROP(Verify, HoldsAfterEveryCallOfEveryRun, ()) {
  const RunCase c = *gen_run_case(RunCaseOptions{.with_faults = true, .fixed_faults = {}});
  for (const char* alloc : {"dmmalloc", "comalloc"}) {
    const RunStats s = paranoid_run(c, alloc);
    RC_ASSERT(s.failure.find("paranoid") == std::string::npos);
  }
  // (Not the control allocator: its survivor's lists disagree with the committed memory as soon
  // as a task other than the last allocates, which is the bug it stands for.)
}

TEST(Verify, DmMallocNamesACorruptedFreeList) {
  NativeMemory mem;
  DmMalloc<NativeMemory> dm(&mem);
  const Addr a = dm.malloc(40), b = dm.malloc(40), c = dm.malloc(40);
  dm.free(a);
  dm.free(b);
  EXPECT_EQ(dm.verify(), "");
  mem.store64(b - 16 + 8, c - 16);  // b's link now leads to a live block
  const std::string cls = std::to_string(dm::class_of(40));
  EXPECT_NE(dm.verify().find("has no free class-" + cls + " header"), std::string::npos) << dm.verify();
  mem.store64(b - 16 + 8, a - 16);
  EXPECT_EQ(dm.verify(), "");
  const std::uint64_t next = mem.load64(a - 16 + 8);
  mem.store64(a - 16 + 8, b - 16);  // a cycle: the list goes on past its count
  EXPECT_NE(dm.verify().find("shared list of class " + cls + ": holds more than its count 2"), std::string::npos)
      << dm.verify();
  mem.store64(a - 16 + 8, next);
  dm.free(c);
  EXPECT_EQ(dm.verify(), "");
}

TEST(Verify, DmMallocNamesABrokenTop) {
  NativeMemory mem;
  DmMalloc<NativeMemory> dm(&mem);
  const Addr a = dm.malloc(40);
  ASSERT_EQ(dm.verify(), "");
  const Addr top = a - 16 + 64;  // the top begins where the first block ends
  const std::uint64_t size = mem.load64(top + 8);
  mem.store64(top + 8, size - 32);
  EXPECT_NE(dm.verify().find("the top"), std::string::npos) << dm.verify();
  mem.store64(top + 8, size);
  EXPECT_EQ(dm.verify(), "");
}

// Teaches the carve that tasks use class-1 blocks: a task on native memory has no slice to grow
// into, so its first malloc gives up (writing nothing), and learn doubles that class's share.
template <class Dm>
void teach_class_1(Dm& dm) {
  ASSERT_TRUE(dm.group_init(1));
  Dm task = dm;
  task.task_init(0);
  EXPECT_EQ(task.malloc(40), 0u);
  ASSERT_TRUE(task.gave_up());
  dm.understudy_init();
  std::vector<const Dm*> tasks{&task};
  dm.learn(tasks);
}

TEST(Verify, DmMallocNamesOverlappingPartitionsAtTheCarve) {
  NativeMemory mem;
  DmMallocMutant<NativeMemory> dm(&mem, Mutant::CarveKeepsShared);
  dm.free(dm.malloc(40));
  teach_class_1(dm);
  ASSERT_TRUE(dm.group_init(2));
  EXPECT_NE(dm.verify().find("holds more than its count"), std::string::npos) << dm.verify();
  DmMalloc<NativeMemory> good(&mem);
  good.free(good.malloc(40));
  teach_class_1(good);
  ASSERT_TRUE(good.group_init(2));
  EXPECT_EQ(good.verify(), "");
}

TEST(Verify, CoMallocNamesABrokenBaseHeapAndAnAlteredCarve) {
  NativeMemory mem;
  CoMalloc<NativeMemory> co(&mem);
  const Addr a = co.malloc(100);
  const Addr b = co.malloc(100);
  co.malloc(100);
  co.free(b);  // b's chunk goes to a bin (its neighbours are live)
  EXPECT_EQ(co.verify(), "");
  const std::uint64_t size = co.base().chunk_size(b - 16);
  mem.store64(b - 16 + size - 8, size + 16);  // the footer lies
  EXPECT_NE(co.verify().find("base heap: footer"), std::string::npos) << co.verify();
  mem.store64(b - 16 + size - 8, size);
  ASSERT_TRUE(co.group_init(2));
  EXPECT_EQ(co.verify(), "");
  const auto [start, bytes] = co.heap_of(1);
  mem.store64(start, dl::head_word(dl::Kind::Chunk, bytes - 16, dl::kPrivate));
  EXPECT_NE(co.verify().find("private heap of task 1"), std::string::npos) << co.verify();
  (void)a;
}

TEST(Verify, ParanoidRunNamesTheLineAndTheInvariant) {
  // The first group teaches the carve that tasks use 40-byte objects; the second carves for them.
  const std::string trace =
      "pprtrace 1\na 1 40\nf 1\nppr\na 2 40\nend\nppr\na 3 40\nend\nppr\na 4 40\nend\nppr\na 5 40\nend\n";
  ReplayConfig cfg = config("mutant:carve-overlap", 2);
  const RunStats plain = replay_text(trace, cfg);
  EXPECT_EQ(plain.failure.find("paranoid"), std::string::npos);
  cfg.paranoid = true;
  const RunStats s = replay_text(trace, cfg);
  EXPECT_FALSE(s.verified);
  EXPECT_NE(s.failure.find("paranoid check after task_init at line 11 in task 1: block"), std::string::npos)
      << s.failure;
  EXPECT_NE(s.failure.find("is on two free lists"), std::string::npos) << s.failure;
}

TEST(Verify, TheEnvironmentSwitchesTheParanoidLevelOn) {
  // The first group teaches the carve that tasks use 40-byte objects; the second carves for them.
  const std::string trace =
      "pprtrace 1\na 1 40\nf 1\nppr\na 2 40\nend\nppr\na 3 40\nend\nppr\na 4 40\nend\nppr\na 5 40\nend\n";
  const char* before = std::getenv("PPRSIM_PARANOID");
  const std::string saved = before ? before : "";
  ::setenv("PPRSIM_PARANOID", "1", 1);
  const RunStats s = replay_text(trace, config("mutant:carve-overlap", 2));
  if (before) {
    ::setenv("PPRSIM_PARANOID", saved.c_str(), 1);
  } else {
    ::unsetenv("PPRSIM_PARANOID");
  }
  EXPECT_NE(s.failure.find("paranoid check after task_init"), std::string::npos) << s.failure;
}

}  // namespace
}  // namespace pprsim
