// The oracle must catch a corrupted heap: an overwritten live object, a leaked block, a block
// handed out twice, a free block lost from the lists, a broken block header.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

#include "sim/content_model.h"
#include "sim/executor.h"
#include "sim/oracle.h"
#include "sim/sim_allocator.h"
#include "props/tests/test_support.h"

namespace pprsim {
using pprsim::test::handed_out_twice;
using pprsim::test::problem_texts;
namespace {

// A process whose heap is built event by event as a replay builds it, with the sequential
// reference beside it.
struct ReplayedHeap {
  explicit ReplayedHeap(const char* allocator) { p.alloc = make_allocator(allocator, p.mem); }

  void run(Event e) {
    e.line = ++line;
    if (e.id >= 0) ensure_handle(p, e.id);
    ASSERT_EQ(execute(p, e).status, StepStatus::Done);
    model.apply(e);
  }

  Process p{std::uint64_t{1} << 30};
  ContentModel model;
  std::uint32_t line = 1;
};

class OracleTest : public ::testing::TestWithParam<const char*>, protected ReplayedHeap {
 protected:
  OracleTest() : ReplayedHeap(GetParam()) {}

  void heap_with_objects() {
    for (int i = 0; i < 10; ++i) run(Event{.op = Op::Malloc, .id = i, .size = 24u + 100u * i});
    run(Event{.op = Op::Free, .id = 3});
    run(Event{.op = Op::Calloc, .id = 20, .size = 8, .count = 5});
    run(Event{.op = Op::Write, .id = 5, .size = 10, .offset = 7});
  }
  Addr addr_of(std::int64_t id) { return p.objects.find(id)->addr; }
};

TEST_P(OracleTest, CleanHeapPasses) {
  heap_with_objects();
  const HeapCheck c = check_heap(p, model);
  EXPECT_TRUE(c.ok()) << (problem_texts(c.findings).empty() ? "" : problem_texts(c.findings).front());
  EXPECT_EQ(c.live_objects, 10u);
}

TEST_P(OracleTest, OverwrittenLiveObjectIsAContentMismatch) {
  heap_with_objects();
  const std::uint8_t junk = 0;
  p.space.write(addr_of(6) + 17, &junk, 1);
  const HeapCheck c = check_heap(p, model);
  EXPECT_EQ(c.findings.count(FindingKind::ContentMismatch), 1u);
  ASSERT_FALSE(problem_texts(c.findings).empty());
  EXPECT_NE(problem_texts(c.findings).front().find("object 6"), std::string::npos) << problem_texts(c.findings).front();
  EXPECT_NE(problem_texts(c.findings).front().find("byte 17"), std::string::npos) << problem_texts(c.findings).front();
}

TEST_P(OracleTest, LeakedBlockIsLost) {
  heap_with_objects();
  ASSERT_NE(p.alloc->malloc(64), 0u);  // allocated, but no object of the program holds it
  const HeapCheck c = check_heap(p, model);
  EXPECT_EQ(c.findings.count(FindingKind::LostBlock), 1u);
  EXPECT_EQ(handed_out_twice(c.findings), 0u);
}

TEST_P(OracleTest, BlockHandedOutTwiceIsADoubleAllocation) {
  heap_with_objects();
  // The allocator forgets that object 4 is live: its block goes back on a free list and
  // the next request of that size gets it again.
  const Addr a = addr_of(4);
  p.alloc->free(a);
  EXPECT_GE(handed_out_twice(check_heap(p, model).findings), 1u) << "a live object in a free block";
  run(Event{.op = Op::Malloc, .id = 30, .size = 424});
  EXPECT_EQ(addr_of(30), a);
  const HeapCheck c = check_heap(p, model);
  EXPECT_GE(handed_out_twice(c.findings), 1u);
  EXPECT_GE(c.findings.count(FindingKind::ContentMismatch), 1u) << "object 4 was overwritten by object 30's fill";
}

TEST_P(OracleTest, CorruptHeaderLosesTheRestOfTheRegion) {
  heap_with_objects();
  const std::uint64_t garbage = 0x4242424242424242ull;
  p.space.write(addr_of(7) - 16, &garbage, 8);
  const HeapCheck c = check_heap(p, model);
  EXPECT_GE(c.findings.count(FindingKind::LostBlock), 1u);
  EXPECT_GT(c.lost_bytes, 0u);
}

TEST_P(OracleTest, ObjectTableAndModelMustAgree) {
  heap_with_objects();
  model.apply(Event{.op = Op::Malloc, .id = 99, .size = 8, .line = 500});
  EXPECT_GE(check_heap(p, model).findings.count(FindingKind::ContentMismatch), 1u);
}

INSTANTIATE_TEST_SUITE_P(Allocators, OracleTest, ::testing::Values("dmmalloc", "shared"));

// Whether one of the check's problems contains `what`.
bool names(const HeapCheck& c, const std::string& what) {
  for (const auto& s : problem_texts(c.findings)) {
    if (s.find(what) != std::string::npos) return true;
  }
  return false;
}

// Two freed 100-byte dmmalloc blocks: b is the list head and links to a.
struct TwoFreeBlocks : ::testing::Test {
  void SetUp() override {
    p.alloc = make_allocator("dmmalloc", p.mem);
    a = p.alloc->malloc(100);
    b = p.alloc->malloc(100);
    p.alloc->free(a);
    p.alloc->free(b);
  }
  // The free-list link of the block whose payload is at `payload`.
  void link(Addr payload, Addr to) { p.space.store64(payload - 16 + 8, to); }

  Process p{std::uint64_t{1} << 30};
  ContentModel model;
  Addr a = 0;
  Addr b = 0;
};

TEST_F(TwoFreeBlocks, FreeBlockMissingFromTheListsIsLost) {
  link(b, 0);  // cut the link, and a is off every list
  const HeapCheck c = check_heap(p, model);
  EXPECT_GE(c.findings.count(FindingKind::LostBlock), 1u);
  EXPECT_TRUE(names(c, "on no free list"));
}

// The free-list census by hand: a list that runs in a cycle names its blocks as listed more
// than once; a link to an address that starts no block names that address.
TEST_F(TwoFreeBlocks, FreeListCycleAndStrayLinkAreNamed) {
  // b -> a -> b -> ...: the walk's budget stops it, both blocks are counted several times.
  link(a, b - 16);
  const HeapCheck cycle = check_heap(p, model);
  EXPECT_GE(handed_out_twice(cycle.findings), 2u);
  EXPECT_TRUE(names(cycle, "is on the free lists")) << problem_texts(cycle.findings).front();
  // b -> a -> (16 bytes into b's payload): no block starts there.
  link(a, b + 16);
  link(b + 32, 0);
  const HeapCheck stray = check_heap(p, model);
  EXPECT_GE(handed_out_twice(stray.findings), 1u);
  EXPECT_TRUE(names(stray, fmt::format("holds {:#x}, which is no block", b + 16)))
      << (problem_texts(stray.findings).empty() ? "" : problem_texts(stray.findings).front());
}

// A block that went back on a free list while its header still says it is handed out: its own
// finding, not a double allocation (nothing was handed out twice yet).
TEST_F(TwoFreeBlocks, FreedBlockWhoseHeaderStillSaysLiveIsItsOwnFinding) {
  p.space.store64(a - 16, p.space.load64(a - 16) | (std::uint64_t{1} << 8));  // dmmalloc's live bit
  const HeapCheck c = check_heap(p, model);
  EXPECT_EQ(c.findings.count(FindingKind::LiveAfterFree), 1u);
  EXPECT_EQ(handed_out_twice(c.findings), 0u);
  EXPECT_TRUE(names(c, fmt::format("block {:#x} is on a free list but its header says it is handed out", a - 16)))
      << testing::PrintToString(problem_texts(c.findings));
  EXPECT_FALSE(c.ok());
}

// The full check takes its list of live objects from the incremental index only when the
// index agrees with the object table entry by entry: an object table changed behind the
// oracle's back (no touch) is still checked as the table has it.
TEST(HeapOracle, FullCheckFollowsTheObjectTableWhenTheIndexDisagrees) {
  Process p{std::uint64_t{1} << 30};
  p.alloc = make_allocator("dmmalloc", p.mem);
  ContentModel model;
  HeapOracle oracle;
  std::uint32_t line = 1;
  for (std::int64_t id = 0; id < 6; ++id) {
    Event e{.op = Op::Malloc, .id = id, .size = 40, .line = ++line};
    ensure_handle(p, id);
    ASSERT_EQ(execute(p, e).status, StepStatus::Done);
    model.apply(e);
    oracle.touch(id);
  }
  const HeapCheck first = oracle.check_all(p, model);
  EXPECT_TRUE(first.ok()) << (problem_texts(first.findings).empty() ? "" : problem_texts(first.findings).front());
  EXPECT_EQ(first.live_objects, 6u);
  // Object 2 now claims object 4's block: its bytes there are object 4's pattern.
  Object moved = *p.objects.find(2);
  moved.addr = p.objects.find(4)->addr;
  p.objects.set(2, moved);
  const HeapCheck second = oracle.check_all(p, model);
  EXPECT_GE(second.findings.count(FindingKind::ContentMismatch), 1u);
  EXPECT_GE(handed_out_twice(second.findings), 1u) << "objects 2 and 4 at one address";
}

// The incremental check between full checks, on a heap built event by event as a replay does.
class IncrementalCheck : public ::testing::Test, protected ReplayedHeap {
 protected:
  IncrementalCheck() : ReplayedHeap("dmmalloc") {}

  // An event of the trace: run, and touched for the oracle.
  void run(Event e) {
    ReplayedHeap::run(e);
    oracle.touch(e.id);
  }
  std::string first_problem(const HeapCheck& c) { return problem_texts(c.findings).empty() ? "" : problem_texts(c.findings).front(); }

  HeapOracle oracle;
};

// A byte written into a live object the trace did not touch since the last check shows: its
// page was written.
TEST_F(IncrementalCheck, AWriteIntoAnUntouchedObjectIsAContentMismatch) {
  for (std::int64_t id = 0; id < 8; ++id) run(Event{.op = Op::Malloc, .id = id, .size = 48});
  const HeapCheck first = oracle.check_changes(p, model);
  ASSERT_TRUE(first.ok()) << first_problem(first);
  p.space.store64(p.objects.find(5)->addr + 8, 0);  // not through the trace: no touch
  const HeapCheck second = oracle.check_changes(p, model);
  EXPECT_EQ(second.findings.count(FindingKind::ContentMismatch), 1u);
  EXPECT_NE(first_problem(second).find("object 5 "), std::string::npos) << first_problem(second);
}

// An object shrunk in place gives its tail back, and a later object may start there: the
// index's size of the first must have shrunk with it, or the two would seem to overlap.
TEST_F(IncrementalCheck, AnObjectShrunkInPlaceDoesNotOverlapWhatFollowsIt) {
  p.alloc = make_allocator("comalloc", p.mem);  // splits a shrunk block's tail off
  run(Event{.op = Op::Malloc, .id = 1, .size = 2000});
  run(Event{.op = Op::Malloc, .id = 2, .size = 16});  // keeps the tail from joining the top
  const HeapCheck first = oracle.check_changes(p, model);
  ASSERT_TRUE(first.ok()) << first_problem(first);
  const Addr at = p.objects.find(1)->addr;
  run(Event{.op = Op::Realloc, .id = 1, .size = 100});
  ASSERT_EQ(p.objects.find(1)->addr, at) << "shrunk in place";
  const HeapCheck second = oracle.check_changes(p, model);
  ASSERT_TRUE(second.ok()) << first_problem(second);
  run(Event{.op = Op::Malloc, .id = 3, .size = 1000});
  const Addr tail = p.objects.find(3)->addr;
  ASSERT_GT(tail, at);
  ASSERT_LT(tail, at + 2000) << "object 3 should start in object 1's old tail";
  const HeapCheck third = oracle.check_changes(p, model);
  EXPECT_TRUE(third.ok()) << first_problem(third);
}

// A page inside a large object the group touched is not read again for the objects on it:
// there should be none, and one that is there overlaps the large object, which is reported.
TEST_F(IncrementalCheck, AnOldObjectInsideANewLargeOneIsADoubleAllocation) {
  run(Event{.op = Op::Malloc, .id = 1, .size = 64});
  const HeapCheck first = oracle.check_changes(p, model);
  ASSERT_TRUE(first.ok()) << first_problem(first);
  // Object 2 is "handed" three pages around object 1, as a broken allocator might, and filled.
  const Addr inside = p.objects.find(1)->addr;
  const Addr base = (inside / kPageSize - 1) * kPageSize;
  p.space.map(base, 3 * kPageSize);
  const Event big{.op = Op::Malloc, .id = 2, .size = 3 * kPageSize, .line = ++line};
  p.space.fill_pattern(base, 3 * kPageSize, 2, big.line, base);
  p.objects.set(2, Object{base, 3 * kPageSize, big.line, 3 * kPageSize});
  model.apply(big);
  oracle.touch(2);
  const HeapCheck second = oracle.check_changes(p, model);
  EXPECT_GE(handed_out_twice(second.findings), 1u) << first_problem(second);
  EXPECT_NE(first_problem(second).find("objects 2 and 1 overlap"), std::string::npos) << first_problem(second);
}

}  // namespace
}  // namespace pprsim
