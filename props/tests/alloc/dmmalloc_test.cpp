// dmmalloc: exact expectations of the sequential API, a stateful model-based test of it on
// both backends, and the PPR hooks (carve, task-local frees, deferred frees, merge).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <vector>

#include "alloc/dmmalloc.h"
#include "alloc/native_memory.h"
#include "sim/group.h"
#include "sim/process.h"
#include "sim/sim_allocator.h"
#include "props/tests/test_support.h"

namespace pprsim {
using pprsim::test::problem_texts;
namespace {

using Native = DmMalloc<NativeMemory>;

// Frees every block a test allocated on native memory at the end (the arena is leaked to the
// OS otherwise; the tests stay small).
struct NativeHeap {
  NativeMemory mem;
  Native dm{&mem};
};

TEST(DmMalloc, CApiEdgeCases) {
  NativeHeap h;
  const Addr z1 = h.dm.malloc(0);
  const Addr z2 = h.dm.malloc(0);
  EXPECT_NE(z1, 0u);
  EXPECT_NE(z1, z2) << "malloc(0) gives distinct pointers";
  h.dm.free(0);  // no-op
  const Addr p = h.dm.realloc(0, 100);
  ASSERT_NE(p, 0u);
  EXPECT_GE(h.dm.usable_size(p), 100u);
  EXPECT_EQ(h.dm.realloc(p, 0), 0u) << "realloc(p, 0) frees and returns NULL";
  EXPECT_EQ(h.dm.calloc(std::uint64_t{1} << 40, std::uint64_t{1} << 40), 0u) << "calloc overflow";
  EXPECT_EQ(h.dm.malloc(~std::uint64_t{0}), 0u);
  EXPECT_EQ(h.dm.memalign(48, 10), 0u) << "alignment must be a power of two";
}

TEST(DmMalloc, SixteenByteAlignmentAndClassesWithinOneStep) {
  NativeHeap h;
  for (std::uint64_t n : {1u, 16u, 17u, 100u, 1000u, 1100u, 4000u, 4100u, 5200u, 70000u, 262000u}) {
    const Addr p = h.dm.malloc(n);
    ASSERT_NE(p, 0u);
    EXPECT_EQ(p % 16, 0u);
    const std::uint64_t u = h.dm.usable_size(p);
    EXPECT_GE(u, n);
    const std::uint64_t block = u + dm::kHeader;
    EXPECT_EQ(block % dm::kGrain, 0u);
    const std::uint64_t need = n + dm::kHeader;
    // One class step: a quarter of the doubling the request lies in (16 bytes, the classes'
    // grain, up to 128), and just above a power of two for 512 bytes, 1 KiB and 2 KiB.
    const std::uint64_t step = need <= 128 ? dm::kGrain : need / dm::kPerDoubling + dm::kMinBlock;
    EXPECT_LE(block, std::max<std::uint64_t>(dm::kMinBlock, need + step))
        << "a block is at most one class step larger than it must be: " << n;
  }
}

// A request of 2 KiB (gawk's node blocks) takes a block just above it, not one of twice its size:
// with the header, the next power of two held it and the drop-in ran gawk in twice glibc's memory.
TEST(DmMalloc, ATwoKibRequestTakesABlockJustAboveIt) {
  NativeHeap h;
  const Addr p = h.dm.malloc(2048);
  ASSERT_NE(p, 0u);
  EXPECT_EQ(h.dm.usable_size(p) + dm::kHeader, 2080u);
  EXPECT_EQ(dm::class_size(dm::class_of(2048 - dm::kHeader)), 2048u) << "a block of exactly 2 KiB still fits one";
}

// Sequential code takes a block within a quarter of its request: a 600-byte request (Python's
// most frequent, beside its own small-object allocator) took a 1 KiB block, and python3 ran in a
// third more memory than with glibc.
TEST(DmMalloc, SequentialRequestsBelowAPageTakeBlocksWithinAQuarterOfThem) {
  NativeHeap h;
  const Addr p = h.dm.malloc(600);
  ASSERT_NE(p, 0u);
  EXPECT_EQ(h.dm.usable_size(p) + dm::kHeader, 640u);
  const Addr q = h.dm.malloc(100);
  ASSERT_NE(q, 0u);
  EXPECT_EQ(h.dm.usable_size(q) + dm::kHeader, 128u);
  const Addr r = h.dm.malloc(70);
  ASSERT_NE(r, 0u);
  EXPECT_EQ(h.dm.usable_size(r) + dm::kHeader, 96u);
}

// A buffer of a power of two above a page (a 4, 8 or 64 KiB buffer) takes a block 16 bytes
// larger, not one a quarter larger; inside a task it takes the quarter class.
TEST(DmMalloc, APowerOfTwoBufferAboveAPageTakesABlockJustAboveIt) {
  NativeHeap h;
  for (const std::uint64_t n : {std::uint64_t{4096}, std::uint64_t{8192}, std::uint64_t{65536}, std::uint64_t{131072}}) {
    const Addr p = h.dm.malloc(n);
    ASSERT_NE(p, 0u);
    EXPECT_EQ(h.dm.usable_size(p), n) << n;
    const int c = dm::class_of(n);
    EXPECT_FALSE(dm::is_task_class(c));
    EXPECT_EQ(dm::class_size(dm::task_class(c)), n + n / 4) << n;
    EXPECT_EQ(dm::class_size(dm::class_of(n + 1)), n + n / 4) << n;
  }
}

// Classes are multiples of 16 bytes, and no block can be 16 bytes: a 48-byte free block is not
// split for a 32-byte one (it would leave 16 bytes), and every size a split or the top can leave
// tiles into classes.
TEST(DmMalloc, NoSplitLeavesSixteenBytes) {
  NativeHeap h;
  const Addr a = h.dm.malloc(30);
  ASSERT_EQ(h.dm.usable_size(a) + dm::kHeader, 48u);
  h.dm.free(a);
  const Addr b = h.dm.malloc(10);
  ASSERT_NE(b, 0u);
  EXPECT_EQ(h.dm.usable_size(b) + dm::kHeader, 32u);
  EXPECT_NE(b, a) << "the 48-byte block stays whole";
  EXPECT_EQ(h.dm.verify(), "");
  EXPECT_EQ(h.dm.malloc(30), a);
  for (std::uint64_t bytes = dm::kMinBlock; bytes <= 2 * dm::kTopBlock; bytes += dm::kGrain) {
    std::uint64_t rest = bytes;
    while (rest != 0) {
      const int c = dm::tile_class(rest);
      ASSERT_LE(dm::class_size(c), rest) << bytes;
      rest -= dm::class_size(c);
      ASSERT_NE(rest, dm::kGrain) << bytes;
    }
  }
}

// An object grown in place into the top (realloc) goes back into the top when it is freed there:
// it was made from the top, not from the lists. Listed at its last class instead, a buffer grown
// and freed again and again left one such block behind each time and grew the heap by as much.
// A block cut and freed at the top is listed as before.
TEST(DmMalloc, AnObjectGrownIntoTheTopRejoinsItWhenFreed) {
  NativeHeap h;
  ASSERT_NE(h.dm.malloc(100), 0u);
  const Addr a = h.dm.malloc(3000);
  ASSERT_NE(a, 0u);
  ASSERT_EQ(h.dm.realloc(a, 3500), a) << "grown in place into the top";
  h.dm.free(a);
  EXPECT_EQ(h.dm.verify(), "");
  EXPECT_EQ(h.dm.malloc(5000), a) << "a larger class is cut where the grown block began";
  const Addr b = h.dm.malloc(3000);
  ASSERT_NE(b, 0u);
  h.dm.free(b);  // never grown: listed, and a request of its class takes it again
  EXPECT_NE(h.dm.malloc(5000), b);
  EXPECT_EQ(h.dm.malloc(3000), b);
  EXPECT_EQ(h.dm.verify(), "");
}

// The block grown into the top is flagged in its header (dm::kGrown) so that free's fast paths
// send it to the core. A block grown earlier keeps its flag once another is grown; freed, it is
// listed like any block (not given to the top, which no longer begins after it), and a request
// of its class takes it again.
TEST(DmMalloc, ABlockGrownBeforeTheLastOneIsListedWhenFreed) {
  NativeHeap h;
  const Addr a = h.dm.malloc(3000);
  ASSERT_NE(a, 0u);
  ASSERT_EQ(h.dm.realloc(a, 3500), a) << "grown in place into the top";
  const std::uint64_t wa = h.mem.load64(a - dm::kHeader);
  EXPECT_NE(wa & dm::kGrown, 0u);
  const Addr b = h.dm.malloc(3000);
  ASSERT_EQ(h.dm.realloc(b, 3500), b) << "the next one grows into the top too";
  EXPECT_NE(h.mem.load64(a - dm::kHeader) & dm::kGrown, 0u) << "a's flag stays";
  h.dm.free(a);
  EXPECT_EQ(h.dm.verify(), "");
  EXPECT_EQ(h.mem.load64(a - dm::kHeader) & (dm::kLive | dm::kGrown), 0u) << "listed as free";
  h.dm.free(b);  // the last grown block, still at the top: back into it
  EXPECT_EQ(h.dm.verify(), "");
  EXPECT_EQ(h.dm.malloc(5000), b) << "a larger class is cut where b began";
  EXPECT_EQ(h.dm.malloc(3500), a) << "a's class takes it back from its list";
  EXPECT_EQ(h.dm.verify(), "");
}

// Every request maps to the smallest class that holds it, and the classes tile: the walk over
// all sizes agrees with the O(1) formula (every size the lookup table covers, then a sample).
TEST(DmMalloc, ClassOfIsTheSmallestClassThatHolds) {
  int c = 0;
  for (std::uint64_t n = 0; n <= dm::kTopBlock - dm::kHeader; n += (n < dm::kTableTo ? 1 : 61)) {
    while (dm::class_size(c) - dm::kHeader < n) ++c;
    ASSERT_EQ(dm::class_of(n), c) << n;
  }
  EXPECT_EQ(dm::class_of(dm::kTopBlock - dm::kHeader + 1), dm::kClasses);
  for (int k = 1; k < dm::kClasses; ++k) {
    ASSERT_GT(dm::class_size(k), dm::class_size(k - 1));
    ASSERT_EQ(dm::class_size(k) % dm::kGrain, 0u);
    ASSERT_EQ(dm::class_within(dm::class_size(k)), k);
    ASSERT_EQ(dm::class_within(dm::class_size(k) - dm::kGrain), k - 1) << "the largest that fits";
  }
}

TEST(DmMalloc, LargeObjectsComeFromSystemMemoryAndAreKeptForTheNext) {
  NativeHeap h;
  const std::uint64_t before = h.mem.in_use();
  const Addr p = h.dm.malloc(1 << 20);
  ASSERT_NE(p, 0u);
  const std::uint64_t mapped = h.mem.in_use() - before;
  EXPECT_GE(mapped, std::uint64_t{1} << 20);
  std::memset(reinterpret_cast<void*>(p), 0xAB, 1 << 20);
  h.dm.free(p);
  EXPECT_EQ(h.mem.in_use() - before, mapped) << "kept for reuse";
  EXPECT_EQ(h.dm.verify(), "");
  const Addr q = h.dm.malloc(900000);
  EXPECT_EQ(q, p) << "a smaller large object reuses the kept region";
  EXPECT_GE(h.dm.usable_size(q), std::uint64_t{1} << 20) << "all of the region is the object's";
  EXPECT_EQ(h.mem.in_use() - before, mapped);
  h.dm.free(p);
  h.dm.free(p);
  EXPECT_EQ(h.dm.invalid_frees(), 1u) << "a kept region is no live object";
  EXPECT_EQ(h.dm.verify(), "");
}

// realloc-bal and random-bal free and map large objects over and over; each fresh region cost
// a mapping and a page fault per page touched. The cache is bounded in count and bytes, and
// what it holds goes back when the system refuses a request.
TEST(DmMalloc, KeptRegionsAreBoundedAndGiveWayToARefusedRequest) {
  NativeHeap h;
  std::vector<Addr> big;
  for (int i = 0; i < 3 * dm::kCachedRegions; ++i) big.push_back(h.dm.malloc(300000 + 4096 * i));
  for (const Addr p : big) h.dm.free(p);
  EXPECT_LE(h.mem.in_use(), std::uint64_t{dm::kCachedRegions} * (300000 + 4096 * 3 * dm::kCachedRegions + 4096));
  EXPECT_EQ(h.dm.verify(), "");
  const Addr huge = h.dm.malloc(dm::kCacheBytes);
  ASSERT_NE(huge, 0u);
  const std::uint64_t with_huge = h.mem.in_use();
  h.dm.free(huge);
  EXPECT_LT(h.mem.in_use(), with_huge - dm::kCacheBytes / 2) << "a region larger than half the cache goes back";

  NativeMemory mem(3 << 20);
  Native d(&mem);
  const Addr a = d.malloc(2 << 20);
  ASSERT_NE(a, 0u);
  d.free(a);
  EXPECT_EQ(mem.in_use(), std::uint64_t{2 << 20} + kPageSize) << "kept";
  const Addr b = d.malloc(std::uint64_t{5} << 19);  // 2.5 MiB: more than is kept, more than is left
  EXPECT_NE(b, 0u) << "the kept region went back so that the request could be served";
  EXPECT_EQ(d.verify(), "");
}

TEST(DmMalloc, FreedBlockIsReusedFirst) {
  NativeHeap h;
  const Addr a = h.dm.malloc(40);
  h.dm.free(a);
  EXPECT_EQ(h.dm.malloc(40), a);
}

TEST(DmMalloc, MemalignHonoursLargeAlignments) {
  NativeHeap h;
  for (std::uint64_t align : {32u, 64u, 256u, 4096u, 65536u}) {
    const Addr p = h.dm.memalign(align, 100);
    ASSERT_NE(p, 0u);
    EXPECT_EQ(p % align, 0u);
    EXPECT_GE(h.dm.usable_size(p), 100u);
    std::memset(reinterpret_cast<void*>(p), 1, 100);
    const Addr q = h.dm.realloc(p, 5000);
    ASSERT_NE(q, 0u);
    EXPECT_EQ(reinterpret_cast<const std::uint8_t*>(q)[99], 1);
    h.dm.free(q);
  }
}

TEST(DmMalloc, ZeroByteAlignedObjectStaysInsideItsBlock) {
  // Found by pprsim fuzz: memalign(32, 0) returned the first byte after its block.
  NativeHeap h;
  for (std::uint64_t align : {32u, 64u, 4096u}) {
    const Addr p = h.dm.memalign(align, 0);
    ASSERT_NE(p, 0u);
    EXPECT_EQ(p % align, 0u);
    EXPECT_GE(h.dm.usable_size(p), 1u) << "align " << align;
  }
}

// A program that wrote over a block's header (a realloc that copied past its source, in the
// fuzzer) left the magic and the live bit but class bits 71 of 14 classes. Freeing it indexed a
// free list past the end of the allocator's own array.
TEST(DmMalloc, AHeaderWithAClassThatDoesNotExistIsNoLiveBlock) {
  NativeHeap h;
  const Addr p = h.dm.malloc(24);
  ASSERT_NE(p, 0u);
  const Addr b = p - dm::kHeader;
  std::uint64_t w0 = h.mem.load64(b);
  ASSERT_EQ(w0 & dm::kLive, dm::kLive);
  const std::uint64_t valid = w0;
  w0 = (w0 & ~dm::kClassMask) | 71;
  h.mem.store64(b, w0);
  EXPECT_EQ(h.dm.usable_size(p), 0u);
  h.dm.free(p);
  EXPECT_EQ(h.dm.invalid_frees(), 1u);
  // A large region's header must carry all class bits.
  h.mem.store64(b, (valid & ~dm::kClassMask) | dm::kLarge | 3);
  h.dm.free(p);
  EXPECT_EQ(h.dm.invalid_frees(), 2u);
  h.mem.store64(b, valid);
  EXPECT_EQ(h.dm.usable_size(p), 32u) << "the restored header is a live block of the 48-byte class";
  h.dm.free(p);
  EXPECT_EQ(h.dm.invalid_frees(), 2u);
}

// realloc-bal grows objects above the largest class a little at a time; each growth mapped a
// new region and copied the whole object (0.01x glibc's speed). Now the region grows (mremap
// natively) by half as much again: 600 growths of 5,000 bytes touch the system a handful of
// times, and every byte written on the way is still there.
TEST(DmMalloc, GrowingALargeObjectGrowsItsRegionGeometrically) {
  NativeHeap h;
  std::uint64_t n = 300000;
  Addr p = h.dm.malloc(n);
  ASSERT_NE(p, 0u);
  std::vector<std::uint64_t> marks;
  int regrowths = 0;
  std::uint64_t usable = h.dm.usable_size(p);
  for (int i = 0; i < 600; ++i) {
    const std::uint64_t at = n / 8 * 8 - 8;
    h.mem.store64(p + at, at);
    marks.push_back(at);
    n += 5000;
    p = h.dm.realloc(p, n);
    ASSERT_NE(p, 0u);
    ASSERT_GE(h.dm.usable_size(p), n);
    if (h.dm.usable_size(p) != usable) ++regrowths;
    usable = h.dm.usable_size(p);
  }
  for (const std::uint64_t at : marks) ASSERT_EQ(h.mem.load64(p + at), at) << "offset " << at;
  EXPECT_LE(regrowths, 8) << "300 kB to 3.3 MB in steps of 5 kB";
  h.dm.free(p);
}

// realloc2-bal grows one object by 5 bytes at a time while 16-byte objects come and go: each
// growth past a class moved the object and left its old block behind (utilization 0.34 against
// glibc's 0.98). An object that ends where the top begins now grows into the top.
TEST(DmMalloc, AnObjectAtTheTopGrowsInPlace) {
  NativeHeap h;
  Addr p = h.dm.malloc(4092);
  ASSERT_NE(p, 0u);
  const std::uint64_t mapped = h.mem.in_use();
  std::memset(reinterpret_cast<void*>(p), 0x5A, 4092);
  Addr small = h.dm.malloc(16);  // cut from the top, right behind the object
  int moves = 0;
  for (std::uint64_t n = 4097; n < 60000; n += 5) {
    const Addr q = h.dm.realloc(p, n);
    ASSERT_NE(q, 0u);
    if (q != p) ++moves;
    p = q;
    const Addr next = h.dm.malloc(16);
    h.dm.free(small);
    small = next;
  }
  EXPECT_EQ(moves, 1) << "once past its block, to the top; in place from then on";
  EXPECT_EQ(h.mem.in_use(), mapped) << "no new chunk: nothing was left behind";
  for (std::uint64_t i = 0; i < 4092; ++i) ASSERT_EQ(reinterpret_cast<const std::uint8_t*>(p)[i], 0x5A);
  EXPECT_EQ(h.dm.verify(), "");
  const Addr at_top = h.dm.malloc(100);
  h.dm.free(at_top);
  h.dm.free(p);
  h.dm.free(small);
  EXPECT_EQ(h.dm.verify(), "");
}

// A growing object leaves a block behind in each class it passes, and blocks are never joined:
// realloc-bal kept 1.1 MB resident for 600 kB of objects. When the heap grows, the interior
// pages of free blocks of 64 KiB and more go back to the system (once each).
TEST(DmMalloc, LargeFreeBlocksGiveTheirPagesBackWhenTheHeapGrows) {
  NativeHeap h;
  const Addr big = h.dm.malloc(100000);
  ASSERT_NE(big, 0u);
  std::memset(reinterpret_cast<void*>(big), 0xAB, 100000);
  h.dm.free(big);
  const std::uint64_t before = h.mem.in_use();
  std::vector<Addr> smalls;  // larger blocks, which the free one cannot serve
  while (h.mem.in_use() == before) smalls.push_back(h.dm.malloc(150000));  // until a new chunk
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(big);
  const Addr first_page = round_up(big, kPageSize) - big;
  EXPECT_EQ(bytes[first_page], 0) << "interior pages read zero: given back";
  EXPECT_EQ(bytes[99999], 0);
  EXPECT_EQ(bytes[0], 0xAB) << "the header's page is kept";
  EXPECT_EQ(h.dm.verify(), "");
  const std::uint64_t mapped = h.mem.in_use();
  const Addr again = h.dm.malloc(100000);
  EXPECT_EQ(h.mem.in_use(), mapped) << "a free block of its class serves again";
  std::memset(reinterpret_cast<void*>(again), 0xCD, 100000);
  for (const Addr p : smalls) h.dm.free(p);
  h.dm.free(again);
  EXPECT_EQ(h.dm.verify(), "");
}

// Memory freed as small blocks serves a larger request once the heap would otherwise grow:
// neighbouring free blocks are joined (alloc/dm/join.h). A program whose sizes change between
// phases (python3 building a dict, then its JSON text) grew its heap by every block of its first
// phase: 68 MB resident against glibc's 49 MB.
TEST(DmMalloc, FreeNeighboursJoinBeforeTheHeapGrows) {
  NativeHeap h;
  std::vector<Addr> small;
  while (h.mem.in_use() < 3 * dm::kTopBlock) small.push_back(h.dm.malloc(100));  // into a third chunk
  for (const Addr p : small) std::memset(reinterpret_cast<void*>(p), 0x5A, 100);
  const Addr keep = h.dm.malloc(100);  // live: the chunk's blocks beyond it are not joined with those before
  std::memset(reinterpret_cast<void*>(keep), 0x77, 100);
  const Addr filler = h.dm.malloc(200000);  // most of the top: what is left of it cannot serve the requests below
  ASSERT_NE(filler, 0u);
  for (const Addr p : small) h.dm.free(p);
  const std::uint64_t mapped = h.mem.in_use();
  std::vector<Addr> big;
  for (int i = 0; i < 2; ++i) {
    big.push_back(h.dm.malloc(200000));  // no block of this class is free, and the top is small
    ASSERT_NE(big.back(), 0u);
    std::memset(reinterpret_cast<void*>(big.back()), 0xC3, 200000);
  }
  EXPECT_EQ(h.mem.in_use(), mapped) << "two chunks of joined blocks serve the two requests";
  for (int i = 0; i < 100; ++i) EXPECT_EQ(reinterpret_cast<const std::uint8_t*>(keep)[i], 0x77) << i;
  EXPECT_EQ(h.dm.verify(), "");
  for (const Addr p : big) h.dm.free(p);
  h.dm.free(keep);
  h.dm.free(filler);
  EXPECT_EQ(h.dm.verify(), "");
}

// A program that frees part of what it allocated in one phase (then perhaps trims) and then
// allocates other sizes: whatever the joins and the trim made of the free blocks, every live
// object keeps its bytes, no two overlap, and the lists stay well formed.
RC_GTEST_PROP(DmMalloc, JoinsKeepLiveObjectsWholeAndListsWellFormed, ()) {
  NativeHeap h;
  const auto first = *rc::gen::inRange<std::uint64_t>(1, 700);
  const auto second = *rc::gen::inRange<std::uint64_t>(first + 1, 40000);
  const int keep_every = *rc::gen::inRange(2, 12);
  const bool trim = *rc::gen::arbitrary<bool>();
  struct Obj {
    Addr p;
    std::uint64_t n;
    std::uint8_t fill;
  };
  std::vector<Obj> live;
  auto add = [&](std::uint64_t n) {
    const Addr p = h.dm.malloc(n);
    RC_ASSERT(p != 0);
    const auto fill = static_cast<std::uint8_t>(live.size() * 37 + 1);
    std::memset(reinterpret_cast<void*>(p), fill, n);
    live.push_back(Obj{p, n, fill});
  };
  for (int i = 0; h.mem.in_use() < 3 * dm::kTopBlock; ++i) add(first + static_cast<std::uint64_t>(i) % 7);
  std::vector<Obj> kept;
  for (std::size_t i = 0; i < live.size(); ++i) {
    if (i % static_cast<std::size_t>(keep_every) == 0) {
      kept.push_back(live[i]);
    } else {
      h.dm.free(live[i].p);
    }
  }
  live = kept;
  RC_ASSERT(h.dm.verify() == "");
  if (trim) h.dm.trim();  // joins and gives pages back whether or not it is due
  RC_ASSERT(h.dm.verify() == "");
  const std::uint64_t target = h.mem.in_use() + 2 * dm::kTopBlock;
  for (int i = 0; h.mem.in_use() < target && i < 100000; ++i) add(second + static_cast<std::uint64_t>(i) % 13);
  std::sort(live.begin(), live.end(), [](const Obj& a, const Obj& b) { return a.p < b.p; });
  for (std::size_t i = 0; i < live.size(); ++i) {
    const auto* b = reinterpret_cast<const std::uint8_t*>(live[i].p);
    RC_ASSERT(std::all_of(b, b + live[i].n, [&](std::uint8_t x) { return x == live[i].fill; }));
    if (i > 0) RC_ASSERT(live[i - 1].p + live[i - 1].n <= live[i].p);
  }
  RC_ASSERT(h.dm.verify() == "");
  for (const Obj& o : live) h.dm.free(o.p);
  RC_ASSERT(h.dm.verify() == "");
}

// Only neighbours join: free blocks between live ones stay as they are, and the heap grows.
TEST(DmMalloc, FreeBlocksBetweenLiveOnesDoNotJoin) {
  NativeHeap h;
  std::vector<Addr> live, freed;
  while (h.mem.in_use() < 3 * dm::kTopBlock) {
    freed.push_back(h.dm.malloc(100));
    live.push_back(h.dm.malloc(100));
    std::memset(reinterpret_cast<void*>(live.back()), 0x42, 100);
  }
  ASSERT_NE(h.dm.malloc(200000), 0u);  // most of the top: what is left of it cannot serve the request below
  for (const Addr p : freed) h.dm.free(p);
  const std::uint64_t mapped = h.mem.in_use();
  const Addr big = h.dm.malloc(200000);
  ASSERT_NE(big, 0u);
  std::memset(reinterpret_cast<void*>(big), 0xC3, 200000);
  EXPECT_GT(h.mem.in_use(), mapped) << "no two free blocks lie side by side";
  for (const Addr p : live) {
    for (int i = 0; i < 100; ++i) ASSERT_EQ(reinterpret_cast<const std::uint8_t*>(p)[i], 0x42);
  }
  EXPECT_EQ(h.dm.verify(), "");
  const Addr again = h.dm.malloc(100);
  EXPECT_TRUE(std::find(freed.begin(), freed.end(), again) != freed.end()) << "the free blocks serve their class";
}

// Pages of [a, a + n) in memory now (mincore), the whole pages only.
std::uint64_t resident_pages(Addr a, std::uint64_t n) {
  const Addr from = round_up(a, kPageSize);
  const Addr to = (a + n) / kPageSize * kPageSize;
  if (to <= from) return 0;
  std::vector<unsigned char> in((to - from) / kPageSize);
  if (::mincore(reinterpret_cast<void*>(from), to - from, in.data()) != 0) return 0;
  return static_cast<std::uint64_t>(std::count_if(in.begin(), in.end(), [](unsigned char v) { return (v & 1) != 0; }));
}

// A program that built a large structure and freed it: a trim gives its pages back although the
// heap is not growing, and the objects still live keep their bytes. Without the trim, every page
// stayed resident until the heap next grew (207 MB through the drop-in for 200 MB freed).
TEST(DmMalloc, TrimGivesFreedPagesBackAndKeepsLiveObjects) {
  NativeHeap h;
  constexpr std::uint64_t kSize = 10000;
  std::vector<Addr> objs;
  while (h.mem.in_use() < 24 * dm::kTopBlock * 4) {  // 24 MiB
    objs.push_back(h.dm.malloc(kSize));
    ASSERT_NE(objs.back(), 0u);
    std::memset(reinterpret_cast<void*>(objs.back()), 0x5A, kSize);
  }
  std::uint64_t whole = 0;
  for (const Addr p : objs) whole += resident_pages(p, kSize);
  std::vector<Addr> live;
  for (std::size_t i = 0; i < objs.size(); ++i) {
    if (i % 16 == 0) {
      live.push_back(objs[i]);
      std::memset(reinterpret_cast<void*>(objs[i]), static_cast<int>(i % 251), kSize);
    } else {
      h.dm.free(objs[i]);
    }
  }
  ASSERT_TRUE(h.dm.trim_due()) << "22 of 24 MiB freed, in a heap of 24 MiB";
  const std::uint64_t mapped = h.mem.in_use();
  h.dm.trim();
  EXPECT_EQ(h.mem.in_use(), mapped) << "address space stays: only pages go back";
  EXPECT_EQ(h.dm.verify(), "");
  EXPECT_FALSE(h.dm.trim_due()) << "nothing freed since";
  std::uint64_t left = 0;
  for (std::size_t i = 0; i < objs.size(); ++i) {
    if (i % 16 != 0) left += resident_pages(objs[i] - dm::kHeader, kSize + dm::kHeader);
  }
  // The freed runs between live objects (15 objects, 150 KB) are joined and all but the pages
  // their blocks' headers are on given back.
  EXPECT_LT(left * 10, whole) << left << " of " << whole << " pages of freed objects still resident";
  for (std::size_t k = 0; k < live.size(); ++k) {
    const auto* b = reinterpret_cast<const std::uint8_t*>(live[k]);
    const auto fill = static_cast<std::uint8_t>((k * 16) % 251);
    ASSERT_TRUE(std::all_of(b, b + kSize, [&](std::uint8_t x) { return x == fill; })) << k;
  }
  // The memory serves again (faulted back in). Not all of it: the joined runs were tiled into
  // the largest classes, and splitting those for 10 KB requests leaves rests too small for one
  // (the heap grew by 6.0 MB for these 22 MB).
  std::vector<Addr> again;
  for (std::size_t i = 0; i < objs.size() - live.size(); ++i) {
    again.push_back(h.dm.malloc(kSize));
    ASSERT_NE(again.back(), 0u);
    std::memset(reinterpret_cast<void*>(again.back()), 0xC3, kSize);
  }
  EXPECT_LT(h.mem.in_use() - mapped, again.size() * kSize / 3) << "the trimmed memory served most of the same objects again";
  EXPECT_EQ(h.dm.verify(), "");
  for (const Addr p : again) h.dm.free(p);
  for (const Addr p : live) h.dm.free(p);
}

// realloc-bal spent 14% of its time in memmove: an object growing through the classes was copied
// at every class it passed. Past 64 KiB it now moves once, to a region of its own, and grows
// there (mremap natively); a later object of that kind reuses the region when it is freed.
TEST(DmMalloc, AGrowingObjectPast64KiBMovesToARegionOfItsOwn) {
  NativeHeap h;
  Addr p = h.dm.malloc(1000);
  ASSERT_NE(p, 0u);
  std::uint64_t moves_in_region = 0;
  Addr small = 0;
  for (std::uint64_t n = 1128; n <= 600000; n += 128) {
    const bool was_region = (h.mem.load64(p - dm::kHeader) & dm::kLarge) != 0;
    const Addr q = h.dm.realloc(p, n);
    ASSERT_NE(q, 0u);
    const Addr next = h.dm.malloc(100);  // as in realloc-bal: the object is never at the top
    h.dm.free(small);
    small = next;
    reinterpret_cast<std::uint8_t*>(q)[n - 1] = static_cast<std::uint8_t>(n / 128);
    if (was_region && q != p) ++moves_in_region;
    if (q != p && n >= dm::kGrowIntoRegion) {
      // It grows in place while it ends at the top; when it must move, it moves to a region.
      ASSERT_NE(h.mem.load64(q - dm::kHeader) & dm::kLarge, 0u) << "moved to a block at " << n;
    }
    p = q;
  }
  for (std::uint64_t n = 1128; n <= 600000; n += 128) {
    ASSERT_EQ(reinterpret_cast<const std::uint8_t*>(p)[n - 1], static_cast<std::uint8_t>(n / 128)) << n;
  }
  EXPECT_LE(moves_in_region, 8u) << "grown by half as much again each time, not moved per step";
  h.dm.free(p);
  // The second one may grow in place at the top (where the first one's blocks went back) up to
  // the largest class; past it, it moves, and to that region.
  Addr r = h.dm.malloc(1000);
  for (std::uint64_t n = 1128; n <= 600000; n += 128) {
    r = h.dm.realloc(r, n);
    const Addr next = h.dm.malloc(100);
    h.dm.free(small);
    small = next;
  }
  EXPECT_EQ(r, p) << "the second growing object takes the region the first left";
  h.dm.free(small);
  EXPECT_EQ(h.dm.verify(), "");
}

// A buffer that moves to a region of its own leaves its last heap block behind: its pages go
// back (they read zero). A buffer built and dropped again and again at the top grows over the
// same pages each time, and giving them back at every turn would fault them in at every turn:
// after the first, only the 3rd, 6th, 11th, 20th... buffers give theirs back. Whatever happens
// to its pages, every object keeps its bytes.
TEST(DmMalloc, ABufferThatMovesToARegionGivesBackTheBlockItLeftWithBackoff) {
  NativeHeap h;
  const Addr first = h.dm.malloc(1000);  // the buffers start past it: the largest class no longer fits the chunk
  ASSERT_NE(first, 0u);
  std::vector<int> given_back;
  Addr left_before = 0;
  for (int round = 0; round < 24; ++round) {
    const auto fill = static_cast<std::uint8_t>(0x80 + round);
    Addr p = h.dm.malloc(1000);
    ASSERT_NE(p, 0u);
    std::memset(reinterpret_cast<void*>(p), fill, 1000);
    Addr left = 0;
    for (std::uint64_t n = 1128; n <= 400000; n += 128) {
      const Addr q = h.dm.realloc(p, n);
      ASSERT_NE(q, 0u);
      std::memset(reinterpret_cast<void*>(q + n - 128), fill, 128);
      if (q != p && left == 0 && (h.mem.load64(q - dm::kHeader) & dm::kLarge) != 0) {
        left = p;
        ASSERT_GE(n - 128, dm::kIdleBlock) << "round " << round << ": it grew at the top";
        if (*reinterpret_cast<const std::uint8_t*>(round_up(left, kPageSize) + kPageSize) == 0) given_back.push_back(round);
      }
      p = q;
    }
    ASSERT_NE(left, 0u) << "round " << round << ": the buffer moved to a region";
    if (round > 0) {
      ASSERT_EQ(left, left_before) << "round " << round << ": the same pages again";
    }
    left_before = left;
    for (std::uint64_t k = 0; k < 400000; k += 4096) {
      ASSERT_EQ(*reinterpret_cast<const std::uint8_t*>(p + k), fill) << "round " << round << ", byte " << k;
    }
    h.dm.free(p);
    ASSERT_EQ(h.dm.verify(), "") << "round " << round;
  }
  EXPECT_EQ(given_back, (std::vector<int>{0, 2, 5, 10, 19}));
  h.dm.free(first);
}

TEST(DmMalloc, SystemMemoryLimitIsAReturnedNullNotACrash) {
  NativeMemory mem(512 * 1024);
  Native d(&mem);
  std::vector<Addr> got;
  for (int i = 0; i < 100; ++i) {
    const Addr p = d.malloc(100000);
    if (p == 0) break;
    got.push_back(p);
  }
  EXPECT_LT(got.size(), 100u);
  EXPECT_EQ(d.malloc(1 << 20), 0u);
  for (Addr p : got) d.free(p);
  EXPECT_NE(d.malloc(100000), 0u) << "freed memory serves again";
}

// ---- Stateful model-based test of the sequential API. ----

struct Model {
  struct Obj {
    std::uint64_t size;
    std::uint8_t fill;
  };
  std::map<int, Obj> objs;
  int next_id = 0;
};

template <class Mem>
struct Sut {
  Mem* mem;
  DmMalloc<Mem>* dm;
  std::map<int, Addr> addr;

  void fill(Addr p, std::uint64_t n, std::uint8_t b) {
    std::vector<std::uint8_t> buf(n, b);
    if (n) mem->write(p, buf.data(), n);
  }
  bool holds(Addr p, std::uint64_t n, std::uint8_t b) {
    std::vector<std::uint8_t> buf(n);
    if (n) mem->read(p, buf.data(), n);
    return std::all_of(buf.begin(), buf.end(), [&](std::uint8_t x) { return x == b; });
  }
  void check_all(const Model& m) {
    std::vector<std::pair<Addr, std::uint64_t>> ranges;
    for (const auto& [id, o] : m.objs) {
      const Addr p = addr.at(id);
      RC_ASSERT(p % 16 == 0);
      RC_ASSERT(dm->usable_size(p) >= o.size);
      RC_ASSERT(holds(p, o.size, o.fill));
      ranges.emplace_back(p, std::max<std::uint64_t>(o.size, 1));
    }
    std::sort(ranges.begin(), ranges.end());
    for (std::size_t i = 1; i < ranges.size(); ++i) RC_ASSERT(ranges[i - 1].first + ranges[i - 1].second <= ranges[i].first);
    RC_ASSERT(dm->verify() == "");
  }
};

template <class Mem>
using Cmd = rc::state::Command<Model, Sut<Mem>>;

rc::Gen<std::uint64_t> sizes() {
  return rc::gen::weightedOneOf<std::uint64_t>({{6, rc::gen::inRange<std::uint64_t>(0, 128)},
                                                {3, rc::gen::inRange<std::uint64_t>(128, 9000)},
                                                {1, rc::gen::inRange<std::uint64_t>(9000, 400000)}});
}

template <class Mem>
struct Malloc : Cmd<Mem> {
  std::uint64_t size = *sizes();
  std::uint8_t fill = *rc::gen::inRange<int>(1, 255);
  bool is_calloc = *rc::gen::inRange(0, 4) == 0;
  void apply(Model& m) const override { m.objs[m.next_id++] = {size, is_calloc ? std::uint8_t{0} : fill}; }
  void run(const Model& m, Sut<Mem>& s) const override {
    const Addr p = is_calloc ? s.dm->calloc(1, size) : s.dm->malloc(size);
    RC_ASSERT(p != 0);
    if (is_calloc) {
      RC_ASSERT(s.holds(p, size, 0));
    } else {
      s.fill(p, size, fill);
    }
    s.addr[m.next_id] = p;
    Model next = m;
    this->apply(next);
    s.check_all(next);
  }
  void show(std::ostream& os) const override { os << (is_calloc ? "calloc(" : "malloc(") << size << ")"; }
};

template <class Mem>
struct Free : Cmd<Mem> {
  int pick = *rc::gen::inRange(0, 1 << 20);
  int id(const Model& m) const {
    auto it = m.objs.begin();
    std::advance(it, pick % m.objs.size());
    return it->first;
  }
  void checkPreconditions(const Model& m) const override { RC_PRE(!m.objs.empty()); }
  void apply(Model& m) const override { m.objs.erase(id(m)); }
  void run(const Model& m, Sut<Mem>& s) const override {
    const int i = id(m);
    s.dm->free(s.addr.at(i));
    s.addr.erase(i);
    Model next = m;
    this->apply(next);
    s.check_all(next);
  }
  void show(std::ostream& os) const override { os << "free(#" << pick << ")"; }
};

template <class Mem>
struct Realloc : Cmd<Mem> {
  int pick = *rc::gen::inRange(0, 1 << 20);
  std::uint64_t size = *sizes();
  std::uint8_t fill = *rc::gen::inRange<int>(1, 255);
  int id(const Model& m) const {
    auto it = m.objs.begin();
    std::advance(it, pick % m.objs.size());
    return it->first;
  }
  void checkPreconditions(const Model& m) const override { RC_PRE(!m.objs.empty()); }
  void apply(Model& m) const override {
    auto& o = m.objs[id(m)];
    o.size = std::max<std::uint64_t>(size, 1);
    o.fill = fill;
  }
  void run(const Model& m, Sut<Mem>& s) const override {
    const int i = id(m);
    const auto& o = m.objs.at(i);
    const std::uint64_t n = std::max<std::uint64_t>(size, 1);
    const Addr q = s.dm->realloc(s.addr.at(i), n);
    RC_ASSERT(q != 0);
    RC_ASSERT(s.holds(q, std::min(o.size, n), o.fill));  // contents survive the move
    s.fill(q, n, fill);
    s.addr[i] = q;
    Model next = m;
    this->apply(next);
    s.check_all(next);
  }
  void show(std::ostream& os) const override { os << "realloc(#" << pick << ", " << size << ")"; }
};

template <class Mem>
struct Memalign : Cmd<Mem> {
  std::uint64_t align = std::uint64_t{1} << *rc::gen::inRange(0, 14);
  std::uint64_t size = *sizes();
  std::uint8_t fill = *rc::gen::inRange<int>(1, 255);
  void apply(Model& m) const override { m.objs[m.next_id++] = {size, fill}; }
  void run(const Model& m, Sut<Mem>& s) const override {
    const Addr p = s.dm->memalign(align, size);
    RC_ASSERT(p != 0);
    RC_ASSERT(p % align == 0);
    s.fill(p, size, fill);
    s.addr[m.next_id] = p;
    Model next = m;
    this->apply(next);
    s.check_all(next);
  }
  void show(std::ostream& os) const override { os << "memalign(" << align << ", " << size << ")"; }
};

template <class Mem>
void run_stateful(Mem& mem) {
  DmMalloc<Mem> dm(&mem);
  Sut<Mem> sut{&mem, &dm, {}};
  rc::state::check(Model{}, sut, rc::state::gen::execOneOfWithArgs<Malloc<Mem>, Free<Mem>, Realloc<Mem>, Memalign<Mem>>());
}

RC_GTEST_PROP(DmMalloc, SequentialApiMatchesModelOnNativeMemory, ()) {
  NativeMemory mem;
  run_stateful(mem);
}

RC_GTEST_PROP(DmMalloc, SequentialApiMatchesModelOnSimulatedMemory, ()) {
  Process p(std::uint64_t{1} << 32);
  run_stateful(p.mem);
}

// ---- PPR hooks on simulated memory. ----

struct Group {
  Process parent{std::uint64_t{1} << 30};
  DmMalloc<SimMemory> dm{&parent.mem};

  // Task k of the current group: a fork of the parent with its slice, and the allocator's copy.
  std::pair<std::unique_ptr<Process>, DmMalloc<SimMemory>> task(int k) {
    auto kid = parent.fork();
    kid->sys.confine(parent.sys.task_slice(k));
    DmMalloc<SimMemory> t = dm;
    t.bind(&kid->mem);
    t.task_init(k);
    return {std::move(kid), std::move(t)};
  }

  // Teaches the carve that a task uses `count` objects of `size` bytes: a group of one task
  // that allocates them (growing into its slice), aborted, and learned from.
  void teach(std::uint64_t size, int count) {
    ASSERT_TRUE(dm.group_init(1));
    auto [kid, t] = task(0);
    for (int i = 0; i < count; ++i) ASSERT_NE(t.malloc(size), 0u);
    dm.understudy_init();
    std::vector<const DmMalloc<SimMemory>*> tasks{&t};
    dm.learn(tasks);
  }
};

TEST(DmMallocHooks, CarveGivesDisjointPartitionsAndTasksStayInside) {
  Group g;
  g.teach(40, 2);
  ASSERT_TRUE(g.dm.group_init(3));
  EXPECT_GT(g.dm.reserved_bytes(), 0u);
  std::vector<std::unique_ptr<Process>> kids;
  std::vector<DmMalloc<SimMemory>> copies;
  std::vector<std::vector<Addr>> got(3);
  for (int k = 0; k < 3; ++k) {
    kids.push_back(g.parent.fork());
    copies.push_back(g.dm);
  }
  for (int k = 0; k < 3; ++k) {
    copies[k].bind(&kids[k]->mem);
    copies[k].task_init(k);
    for (int i = 0; i < 2; ++i) {
      const Addr p = copies[k].malloc(40);
      ASSERT_NE(p, 0u);
      got[k].push_back(p);
    }
    EXPECT_FALSE(copies[k].gave_up());
    EXPECT_EQ(copies[k].task_grown_bytes(), 0u) << "the carve covered what the task was taught";
  }
  std::vector<Addr> all;
  for (auto& v : got) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "no block handed to two tasks";
}

// Inside a task every block is one of the task classes (alloc/dm/layout.h), whether it came
// from the partition, a split of a larger partition block or a growth into the task's slice, and
// so is every block left on the task's lists: the carve hands out only those, and the finer
// classes of sequential code would multiply what speculation holds.
RC_GTEST_PROP(DmMallocHooks, ATaskTakesAndLeavesOnlyTaskClasses, ()) {
  Group g;
  const auto taught = *rc::gen::container<std::vector<std::uint64_t>>(rc::gen::inRange<std::uint64_t>(0, 9000));
  for (const std::uint64_t n : taught) g.teach(n, 1);
  // Free blocks of every class on the shared lists, for the carve to split.
  std::vector<Addr> seq;
  for (std::uint64_t n = 16; n < 5000; n += 37) seq.push_back(g.dm.malloc(n));
  for (const Addr a : seq) g.dm.free(a);
  RC_ASSERT(g.dm.group_init(2));
  auto [kid, t] = g.task(1);
  const auto sizes = *rc::gen::container<std::vector<std::uint64_t>>(rc::gen::inRange<std::uint64_t>(0, 9000));
  std::vector<Addr> got;
  for (const std::uint64_t n : sizes) {
    const Addr a = t.malloc(n);
    RC_ASSERT(a != 0u);
    // The smallest task class that holds it; from a page up, out of partition memory, a region
    // of the object's own pages instead.
    const std::uint64_t block = t.usable_size(a) + dm::kHeader;
    const int c = dm::task_class(dm::class_of(n));
    RC_ASSERT(dm::is_task_class(c));
    RC_ASSERT(block == dm::class_size(c) ||
              (dm::class_size(c) >= dm::kTaskRegionBlock && block == round_up(n + dm::kHeader, kPageSize)));
    got.push_back(a);
  }
  for (std::size_t i = 0; i < got.size(); i += 2) t.free(got[i]);
  // What the task put on its lists: the blocks its walk reaches and the parent's does not (the
  // parent's reaches the shared lists and every partition as carved).
  std::set<Addr> before;
  g.dm.walk_free(1u << 20, [&](const FreeEntry& e) { before.insert(e.block); });
  t.walk_free(1u << 20, [&](const FreeEntry& e) {
    if (e.size_class >= 0 && !before.contains(e.block)) RC_ASSERT(dm::is_task_class(e.size_class));
  });
  RC_ASSERT(t.verify() == "");
}

TEST(DmMallocHooks, TaskGivesUpInsteadOfTouchingSharedState) {
  Group g;
  ASSERT_TRUE(g.dm.group_init(2));
  auto kid = g.parent.fork();
  DmMalloc<SimMemory> t = g.dm;
  t.bind(&kid->mem);
  t.task_init(0);
  kid->start_tracking();
  EXPECT_EQ(t.malloc(1 << 20), 0u) << "large object in a task";
  EXPECT_TRUE(t.gave_up());
  EXPECT_TRUE(kid->log->pages().empty()) << "the rescue touched no memory";
  EXPECT_EQ(kid->sys.regions().size(), g.parent.sys.regions().size()) << "nor system memory";
}

TEST(DmMallocHooks, MergeReturnsPartitionsLocalAndDeferredFrees) {
  Group g;
  const Addr old = g.dm.malloc(100);  // allocated before the group: global
  g.teach(100, 2);
  ASSERT_TRUE(g.dm.group_init(2));
  auto k0 = g.parent.fork();
  auto k1 = g.parent.fork();
  DmMalloc<SimMemory> t0 = g.dm, t1 = g.dm;
  t0.bind(&k0->mem);
  t1.bind(&k1->mem);
  t0.task_init(0);
  t1.task_init(1);
  k0->start_tracking();
  const Addr local = t0.malloc(100);
  t0.free(local);   // local: straight back into its partition
  t0.free(old);     // global: deferred, no write
  const AccessLog::PageLog* pl = k0->log->page((old - 16) / kPageSize);
  ASSERT_NE(pl, nullptr);
  for (int b = 0; b < 16; ++b) EXPECT_EQ(pl->write_line[(old - 16) % kPageSize + b], 0u) << "deferred free wrote the header";
  const Addr kept = t1.malloc(100);
  ASSERT_NE(kept, 0u);
  // Commit task 0 only: task 1 aborted, its partition must come back as carved.
  DmMalloc<SimMemory> survivor = t0;
  survivor.bind(&g.parent.mem);  // memory: task 0's writes are the only ones (none to copy here)
  std::vector<const DmMalloc<SimMemory>*> tasks{&t0, &t1};
  survivor.merge(tasks, 1);
  std::map<Addr, int> free_blocks;
  survivor.walk_free(1 << 20, [&](const FreeEntry& f) { ++free_blocks[f.block]; });
  EXPECT_EQ(free_blocks.count(old - 16), 1u) << "deferred free applied";
  EXPECT_EQ(free_blocks.count(kept - 16), 1u) << "aborted task's partition returned";
  for (const auto& [b, n] : free_blocks) EXPECT_EQ(n, 1) << "block " << b << " on the lists twice";
  // Every free block of the heap is on a list, and nothing else is.
  std::uint64_t free_in_walk = 0;
  for (const auto& [base, size] : g.parent.sys.regions()) {
    survivor.walk_region(base, size, [&](const BlockInfo& b) {
      if (b.kind == BlockInfo::Kind::Free) {
        ++free_in_walk;
        EXPECT_EQ(free_blocks.count(b.start), 1u);
      }
      EXPECT_NE(b.kind, BlockInfo::Kind::Corrupt);
    });
  }
  EXPECT_EQ(free_in_walk, free_blocks.size());
}

TEST(DmMallocHooks, ATaskOutOfPartitionGrowsInItsSliceAndTheCommitAdoptsIt) {
  Process parent(std::uint64_t{1} << 30);
  parent.alloc = make_allocator("dmmalloc", parent.mem);
  const Addr before = parent.alloc->malloc(64);
  ASSERT_TRUE(parent.alloc->group_init(2));
  EXPECT_EQ(parent.alloc->reserved_bytes(), 0u) << "nothing learned yet: nothing carved";
  const Instance none;
  std::vector<Runner> tasks;
  for (int k = 0; k < 2; ++k) tasks.push_back(fork_task(parent, k, none));
  SimAllocator& t0 = *tasks[0].proc->alloc;
  std::vector<Addr> mine;
  for (int i = 0; i < 300; ++i) mine.push_back(t0.malloc(48 + 40 * (i % 7)));
  mine.push_back(t0.malloc(1 << 20));
  for (const Addr p : mine) ASSERT_NE(p, 0u);
  EXPECT_FALSE(t0.gave_up());
  const auto [slice, slice_bytes] = tasks[0].proc->sys.slice();
  for (const Addr p : mine) EXPECT_TRUE(p >= slice && p < slice + slice_bytes) << "outside the slice: " << p;
  for (const auto& [pn, log] : tasks[0].proc->log->pages()) {
    EXPECT_GE(pn * kPageSize, slice) << "the task wrote a page outside its slice: shared state";
  }
  const Addr brief = t0.malloc(300000);  // a region of its own, freed in the task that mapped it
  ASSERT_NE(brief, 0u);
  EXPECT_EQ(tasks[0].proc->sys.obtained().count(brief - 16), 1u);
  t0.free(brief);
  EXPECT_EQ(tasks[0].proc->sys.obtained().count(brief - 16), 0u) << "given back at once, not at the commit";
  t0.free(mine[5]);  // its own block: back to its partition
  t0.free(before);   // a block from before the group: deferred
  const Addr other = tasks[1].proc->alloc->malloc(64);  // task 1 grows too, in its own slice
  EXPECT_GE(other, tasks[1].proc->sys.slice().first);
  EXPECT_NE(tasks[1].proc->sys.slice().first, slice);

  const CommitResult done = commit_tasks(parent, tasks, 1);  // task 1 aborted
  EXPECT_TRUE(problem_texts(done.findings).empty());
  EXPECT_GT(done.adopted_bytes, std::uint64_t{1} << 20);
  EXPECT_EQ(parent.sys.regions().count(other - 16 - (other - 16) % kPageSize), 0u) << "task 1's growth is gone";
  EXPECT_EQ(parent.alloc->verify(), "");
  // The census: every block of every region is live (task 0's objects) or on a free list.
  std::set<Addr> free_blocks;
  parent.alloc->walk_free(1 << 20, [&](const FreeEntry& f) { EXPECT_TRUE(free_blocks.insert(f.block).second); });
  std::uint64_t live = 0;
  for (const auto& [base, size] : parent.sys.regions()) {
    parent.alloc->walk_region(base, size, [&](const BlockInfo& b) {
      ASSERT_NE(b.kind, BlockInfo::Kind::Corrupt);
      if (b.kind == BlockInfo::Kind::Free) {
        EXPECT_EQ(free_blocks.count(b.start), 1u) << "lost block " << b.start;
      }
      if (b.kind == BlockInfo::Kind::Live) ++live;
    });
  }
  EXPECT_EQ(live, mine.size() - 1);
  EXPECT_EQ(free_blocks.count(before - 16), 1u) << "the deferred free was applied";
  for (std::size_t i = 0; i < mine.size(); ++i) {
    if (i != 5) parent.alloc->free(mine[i]);
  }
  EXPECT_EQ(parent.alloc->verify(), "");
}

TEST(DmMallocHooks, LearnGrowsTheCarveAfterARescue) {
  Group g;
  g.dm.free(g.dm.malloc(3000));
  ASSERT_TRUE(g.dm.group_init(1));
  const std::uint64_t first = g.dm.reserved_bytes();
  auto kid = g.parent.fork();
  DmMalloc<SimMemory> t = g.dm;
  t.bind(&kid->mem);
  t.task_init(0);
  while (t.malloc(3000) != 0) {
  }
  ASSERT_TRUE(t.gave_up());
  g.dm.understudy_init();
  std::vector<const DmMalloc<SimMemory>*> tasks{&t};
  g.dm.learn(tasks);
  ASSERT_TRUE(g.dm.group_init(1));
  EXPECT_GT(g.dm.reserved_bytes(), first);
}

// The carve lists the blocks every task's quota needs, class by class, cutting them when a class
// is short; a join there (the heap grows while the lists hold much free memory) took back the
// blocks it had listed for earlier classes, and the carve then divided lists shorter than their
// counts (the fuzzer's run: a fault at address 0 in group_init).
TEST(DmMallocHooks, TheCarveJoinsNothingItListed) {
  ReplayConfig cfg = test::config("dmmalloc", 3, 0, 74, UnderstudyMode::Never);
  cfg.faults = FaultPlan::parse("oom=0.125707");
  cfg.check_every = 1;
  const RunStats s = test::replay_text("pprtrace 1\nppr\nr 0 128\nc 1 1 132048\na 2 100335\nend\nppr\nend\nppr\nend\nppr\nend\n", cfg);
  EXPECT_TRUE(s.verified) << s.failure;
  EXPECT_EQ(s.findings.count(FindingKind::Fault), 0u);
}

}  // namespace
}  // namespace pprsim
