// DlHeap (alloc/dlheap.h), the base heap of comalloc, on native memory: exact expectations of
// the C API (alignment, coalescing, realloc, calloc, memalign, large chunks, refusal), and a
// RapidCheck model test of random malloc/free/realloc/calloc/memalign sequences, for the
// growing heap and for a bounded arena that must never touch a byte outside its range.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "alloc/dlheap.h"
#include "alloc/native_memory.h"

namespace pprsim {
namespace {

using Heap = DlHeap<NativeMemory>;

struct DlNativeHeap {
  NativeMemory mem;
  Heap heap{&mem};
  explicit DlNativeHeap(std::uint64_t limit = 0) : mem(limit) {}
  ~DlNativeHeap() {
    // Give the segments back (large chunks are freed by the tests themselves).
    std::vector<std::pair<Addr, std::uint64_t>> segs;
    heap.for_each_segment([&](Addr b, std::uint64_t s) { segs.emplace_back(b, s); });
    for (const auto& [b, s] : segs) mem.sys_free(b, s);
  }
};

std::uint8_t* bytes(Addr p) { return reinterpret_cast<std::uint8_t*>(p); }

// The blocks of every segment, in address order.
std::vector<BlockInfo> blocks_of(Heap& h) {
  std::vector<std::pair<Addr, std::uint64_t>> segs;
  h.for_each_segment([&](Addr b, std::uint64_t s) { segs.emplace_back(b, s); });
  std::vector<BlockInfo> out;
  for (const auto& [b, s] : segs) {
    EXPECT_TRUE(h.walk_region(b, s, [&](const BlockInfo& bi) { out.push_back(bi); }));
  }
  return out;
}

// The free block that starts at chunk c, or nullptr.
const BlockInfo* free_block_at(const std::vector<BlockInfo>& blocks, Addr c) {
  for (const BlockInfo& b : blocks) {
    if (b.start == c && b.kind == BlockInfo::Kind::Free) return &b;
  }
  return nullptr;
}

std::uint64_t chunk_bytes(std::uint64_t n) { return dl::request_to_size(n); }

TEST(DlHeap, AlignmentAndUsableSize) {
  DlNativeHeap h;
  for (std::uint64_t n : {0u, 1u, 15u, 16u, 17u, 24u, 100u, 1000u, 1008u, 1024u, 4095u, 4096u,
                          100000u, 262143u, 262144u, 300000u}) {
    const Addr p = h.heap.malloc(n);
    ASSERT_NE(p, 0u) << n;
    EXPECT_EQ(p % 16, 0u) << n;
    EXPECT_GE(h.heap.usable_size(p), n);
    std::memset(bytes(p), 0xA5, n);
    h.heap.free(p);
  }
  EXPECT_EQ(h.heap.verify(), "");
  EXPECT_EQ(h.heap.invalid_frees(), 0u);
}

TEST(DlHeap, CApiEdgeCases) {
  DlNativeHeap h;
  const Addr z1 = h.heap.malloc(0);
  const Addr z2 = h.heap.malloc(0);
  ASSERT_NE(z1, 0u);
  ASSERT_NE(z2, 0u);
  EXPECT_NE(z1, z2) << "malloc(0) gives distinct pointers";
  h.heap.free(0);
  EXPECT_EQ(h.heap.invalid_frees(), 0u) << "free(NULL) is a no-op";
  EXPECT_EQ(h.heap.malloc(dl::kMaxRequest + 1), 0u);
  EXPECT_EQ(h.heap.malloc(~std::uint64_t{0}), 0u);
  h.heap.free(z1);
  h.heap.free(z2);
  EXPECT_EQ(h.heap.verify(), "");
}

TEST(DlHeap, FreedNeighboursCoalesceIntoOneChunk) {
  DlNativeHeap h;
  const Addr a = h.heap.malloc(100);
  const Addr b = h.heap.malloc(200);
  const Addr c = h.heap.malloc(300);
  const Addr guard = h.heap.malloc(10);  // keeps c away from the top
  ASSERT_EQ(b, a + chunk_bytes(100));
  ASSERT_EQ(c, b + chunk_bytes(200));
  ASSERT_EQ(guard, c + chunk_bytes(300));
  h.heap.free(a);
  h.heap.free(b);  // joins a (its previous neighbour)
  auto blocks = blocks_of(h.heap);
  const BlockInfo* ab = free_block_at(blocks, a - 16);
  ASSERT_NE(ab, nullptr);
  EXPECT_EQ(ab->size, chunk_bytes(100) + chunk_bytes(200));
  EXPECT_EQ(free_block_at(blocks, b - 16), nullptr);
  h.heap.free(c);  // joins a+b
  blocks = blocks_of(h.heap);
  const BlockInfo* abc = free_block_at(blocks, a - 16);
  ASSERT_NE(abc, nullptr);
  EXPECT_EQ(abc->size, chunk_bytes(100) + chunk_bytes(200) + chunk_bytes(300));
  EXPECT_EQ(h.heap.verify(), "");
  // Best fit: a request of exactly that size gets the coalesced chunk back.
  EXPECT_EQ(h.heap.malloc(abc->size - 16), a);
  EXPECT_EQ(h.heap.verify(), "");
}

TEST(DlHeap, FreeCoalescesWithBothNeighboursAtOnce) {
  DlNativeHeap h;
  const Addr a = h.heap.malloc(64);
  const Addr b = h.heap.malloc(64);
  const Addr c = h.heap.malloc(64);
  const Addr guard = h.heap.malloc(64);
  h.heap.free(a);
  h.heap.free(c);
  EXPECT_EQ(h.heap.stats().free_chunks, 3u) << "a, c and the top";
  h.heap.free(b);
  EXPECT_EQ(h.heap.stats().free_chunks, 2u) << "a+b+c and the top";
  const auto blocks = blocks_of(h.heap);
  const BlockInfo* abc = free_block_at(blocks, a - 16);
  ASSERT_NE(abc, nullptr);
  EXPECT_EQ(abc->size, 3 * chunk_bytes(64));
  h.heap.free(guard);  // now everything joins the top
  EXPECT_EQ(h.heap.stats().free_chunks, 1u);
  EXPECT_EQ(h.heap.stats().used_chunks, 0u);
  EXPECT_EQ(h.heap.verify(), "");
}

TEST(DlHeap, FreeNextToTheTopGivesTheBytesBackToIt) {
  DlNativeHeap h;
  const Addr keep = h.heap.malloc(10);
  const Addr top = h.heap.top();
  const std::uint64_t top_size = h.heap.top_size();
  const Addr p = h.heap.malloc(5000);
  EXPECT_EQ(p, top + 16);
  h.heap.free(p);
  EXPECT_EQ(h.heap.top(), top);
  EXPECT_EQ(h.heap.top_size(), top_size);
  h.heap.free(keep);
  EXPECT_EQ(h.heap.verify(), "");
}

TEST(DlHeap, ReallocSemantics) {
  DlNativeHeap h;
  const Addr p = h.heap.realloc(0, 100);  // = malloc
  ASSERT_NE(p, 0u);
  EXPECT_GE(h.heap.usable_size(p), 100u);
  for (int i = 0; i < 100; ++i) bytes(p)[i] = static_cast<std::uint8_t>(i);
  // Shrinking stays in place.
  EXPECT_EQ(h.heap.realloc(p, 40), p);
  EXPECT_GE(h.heap.usable_size(p), 40u);
  // Growing into the top stays in place too, the contents kept.
  EXPECT_EQ(h.heap.realloc(p, 3000), p);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(bytes(p)[i], i);
  // Blocked by a live neighbour: the object moves, its bytes with it.
  const Addr blocker = h.heap.malloc(16);
  const Addr q = h.heap.realloc(p, 6000);
  ASSERT_NE(q, 0u);
  EXPECT_NE(q, p);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(bytes(q)[i], i);
  // Growing into a free neighbour stays in place.
  const Addr r = h.heap.malloc(50);
  const Addr s = h.heap.malloc(500);
  const Addr t = h.heap.malloc(16);
  h.heap.free(s);
  EXPECT_EQ(h.heap.realloc(r, 400), r);
  // realloc(p, 0) frees and returns 0.
  EXPECT_EQ(h.heap.realloc(r, 0), 0u);
  EXPECT_EQ(h.heap.usable_size(r), 0u) << "no longer a live block";
  // Large objects grow and keep their bytes.
  Addr big = h.heap.malloc(300000);
  ASSERT_NE(big, 0u);
  std::memset(bytes(big), 0x5C, 300000);
  big = h.heap.realloc(big, 700000);
  ASSERT_NE(big, 0u);
  for (std::uint64_t i = 0; i < 300000; i += 997) ASSERT_EQ(bytes(big)[i], 0x5C);
  // ... and shrink back below the direct threshold without losing them.
  const Addr small = h.heap.realloc(big, 1000);
  ASSERT_NE(small, 0u);
  for (std::uint64_t i = 0; i < 1000; ++i) ASSERT_EQ(bytes(small)[i], 0x5C);
  for (const Addr x : {q, blocker, t, small}) h.heap.free(x);
  EXPECT_EQ(h.heap.verify(), "");
  EXPECT_EQ(h.heap.invalid_frees(), 0u);
  EXPECT_EQ(h.heap.stats().used_chunks, 0u);
}

TEST(DlHeap, CallocZeroesAndChecksOverflow) {
  DlNativeHeap h;
  const Addr p = h.heap.malloc(1000);
  const Addr guard = h.heap.malloc(16);
  std::memset(bytes(p), 0xFF, 1000);
  h.heap.free(p);
  const Addr z = h.heap.calloc(10, 100);
  EXPECT_EQ(z, p) << "the same chunk, best fit";
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(bytes(z)[i], 0) << i;
  EXPECT_EQ(h.heap.calloc(std::uint64_t{1} << 62, 8), 0u);
  EXPECT_EQ(h.heap.calloc(~std::uint64_t{0}, 2), 0u);
  EXPECT_EQ(h.heap.calloc(std::uint64_t{1} << 40, std::uint64_t{1} << 40), 0u);
  const Addr e = h.heap.calloc(0, 5);
  EXPECT_NE(e, 0u);
  for (const Addr x : {z, guard, e}) h.heap.free(x);
  EXPECT_EQ(h.heap.verify(), "");
}

TEST(DlHeap, MemalignHonoursPowerOfTwoAlignments) {
  DlNativeHeap h;
  std::vector<Addr> ps;
  for (std::uint64_t align : {1u, 8u, 16u, 32u, 64u, 128u, 256u, 4096u, 65536u}) {
    for (std::uint64_t n : {0u, 1u, 100u, 5000u}) {
      const Addr p = h.heap.memalign(align, n);
      ASSERT_NE(p, 0u);
      EXPECT_EQ(p % std::max<std::uint64_t>(align, 16), 0u);
      EXPECT_GE(h.heap.usable_size(p), n);
      std::memset(bytes(p), 0x33, n);
      ps.push_back(p);
      ASSERT_EQ(h.heap.verify(), "") << align << " " << n;
    }
  }
  const Addr big = h.heap.memalign(65536, 600000);  // a region of its own
  ASSERT_NE(big, 0u);
  EXPECT_EQ(big % 65536, 0u);
  EXPECT_GE(h.heap.usable_size(big), 600000u);
  std::memset(bytes(big), 0x44, 600000);
  EXPECT_EQ(h.heap.memalign(0, 10), 0u);
  EXPECT_EQ(h.heap.memalign(48, 10), 0u);
  EXPECT_EQ(h.heap.memalign(3, 10), 0u);
  for (const Addr p : ps) h.heap.free(p);
  const std::uint64_t before = h.mem.in_use();
  h.heap.free(big);
  EXPECT_LT(h.mem.in_use(), before);
  EXPECT_EQ(h.heap.verify(), "");
  EXPECT_EQ(h.heap.stats().used_chunks, 0u);
  EXPECT_EQ(h.heap.invalid_frees(), 0u);
}

TEST(DlHeap, LargeRequestsGetARegionOfTheirOwn) {
  DlNativeHeap h;
  const Addr small = h.heap.malloc(10);
  const std::uint64_t before = h.mem.in_use();
  const Addr p = h.heap.malloc(dl::kDirectThreshold);
  ASSERT_NE(p, 0u);
  EXPECT_EQ(h.mem.in_use() - before, round_up(dl::kDirectThreshold + 16, kPageSize));
  EXPECT_EQ(h.heap.usable_size(p), round_up(dl::kDirectThreshold + 16, kPageSize) - 16);
  h.heap.free(p);
  EXPECT_EQ(h.mem.in_use(), before);
  h.heap.free(small);
  EXPECT_EQ(h.heap.verify(), "");
}

TEST(DlHeap, NewSegmentsAndTheirRelease) {
  DlNativeHeap h;
  std::vector<Addr> ps;
  for (int i = 0; i < 6; ++i) ps.push_back(h.heap.malloc(200000));  // a segment each
  std::uint64_t segs = 0;
  h.heap.for_each_segment([&](Addr, std::uint64_t) { ++segs; });
  EXPECT_GE(segs, 3u);
  EXPECT_EQ(h.heap.verify(), "");
  for (const Addr p : ps) h.heap.free(p);
  EXPECT_EQ(h.heap.verify(), "");
  segs = 0;
  h.heap.for_each_segment([&](Addr, std::uint64_t) { ++segs; });
  EXPECT_EQ(segs, 1u) << "wholly free segments go back, the top's stays";
  EXPECT_EQ(h.heap.footprint(), h.mem.in_use());
}

TEST(DlHeap, SliceHeapGrowsInItsSliceAndIsAdoptedWhole) {
  DlNativeHeap h;
  // Without a slice, a slice heap gets no memory.
  Heap none = Heap::slice(&h.mem);
  EXPECT_EQ(none.malloc(100), 0u);
  // A slice reserved as the runtime would (PROT_NONE), in which the slice heap maps in place.
  const std::uint64_t slice_bytes = std::uint64_t{64} << 20;
  void* res = ::mmap(nullptr, slice_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_NE(res, MAP_FAILED);
  const Addr slice = reinterpret_cast<Addr>(res);
  h.mem.confine(slice, slice_bytes);
  const Addr before = h.heap.malloc(100);  // the base heap's own segment, from the break
  Heap g = Heap::slice(&h.mem);
  std::vector<Addr> ps;
  for (int i = 0; i < 400; ++i) ps.push_back(g.malloc(50 + static_cast<std::uint64_t>(i % 40) * 9));
  ps.push_back(g.memalign(4096, 3000));
  const Addr large = g.malloc(dl::kDirectThreshold + 1000);
  ps.push_back(large);
  for (const Addr p : ps) {
    ASSERT_NE(p, 0u);
    EXPECT_TRUE(g.holds(p)) << "every block lies in its segments or large regions";
    EXPECT_TRUE(p >= slice && p < slice + slice_bytes) << "and inside the slice";
    std::memset(bytes(p), 0x5A, std::min<std::uint64_t>(g.usable_size(p), 64));
  }
  EXPECT_FALSE(g.holds(before));
  std::uint64_t segs = 0;
  g.for_each_segment([&](Addr, std::uint64_t) { ++segs; });
  EXPECT_GE(segs, 2u) << "segments start small and double";
  EXPECT_EQ(g.obtained_bytes(), g.footprint());
  for (std::size_t i = 0; i < 400; i += 3) g.free(ps[i]);  // free chunks in its bins
  EXPECT_EQ(g.verify(), "");
  EXPECT_GT(g.peak_used(), g.used());
  // Adopted: the segments and free chunks are the base heap's, and its blocks are freed there.
  const std::uint64_t base_footprint = h.heap.footprint();
  h.heap.adopt(g);
  EXPECT_EQ(h.heap.verify(), "");
  EXPECT_EQ(h.heap.footprint(), base_footprint + g.footprint());
  EXPECT_EQ(bytes(ps[1])[0], 0x5A);
  for (std::size_t i = 0; i < ps.size(); ++i) {
    if (i >= 400 || i % 3 != 0) h.heap.free(ps[i]);
  }
  EXPECT_EQ(h.heap.invalid_frees(), 0u);
  EXPECT_EQ(h.heap.verify(), "");
  h.heap.free(before);
  EXPECT_EQ(h.heap.verify(), "");
  EXPECT_EQ(h.heap.footprint(), h.mem.in_use()) << "wholly free adopted segments went back";
  ::munmap(res, slice_bytes);  // what is left of the reservation
}

TEST(DlHeap, RefusedSystemMemoryFailsCleanly) {
  DlNativeHeap h(std::uint64_t{1} << 20);
  std::vector<Addr> ps;
  for (int i = 0; i < 1000; ++i) {
    const Addr p = h.heap.malloc(3000);
    if (p == 0) break;
    ps.push_back(p);
  }
  EXPECT_LT(ps.size(), 1000u);
  EXPECT_EQ(h.heap.malloc(600000), 0u);
  EXPECT_EQ(h.heap.verify(), "");
  for (const Addr p : ps) h.heap.free(p);
  EXPECT_EQ(h.heap.verify(), "");
  EXPECT_EQ(h.heap.stats().used_chunks, 0u);
  EXPECT_EQ(h.heap.stats().free_chunks, h.heap.stats().segments);
}

TEST(DlHeap, InvalidAndDoubleFreesAreCountedNotFollowed) {
  DlNativeHeap h;
  const Addr a = h.heap.malloc(100);
  const Addr b = h.heap.malloc(100);
  h.heap.free(a);
  h.heap.free(a);  // double free
  h.heap.free(b + 16);  // not a block
  h.heap.free(b + 3);   // misaligned
  EXPECT_EQ(h.heap.invalid_frees(), 3u);
  EXPECT_EQ(h.heap.verify(), "");
  h.heap.free(b);
  EXPECT_EQ(h.heap.verify(), "");
}

TEST(DlHeap, BinIndexIsMonotoneAndExactForSmallSizes) {
  int last = 0;
  for (std::uint64_t s = dl::kMinChunk; s < (std::uint64_t{1} << 22); s += 16) {
    const int i = dl::bin_index(s);
    EXPECT_GE(i, last);
    if (s < dl::kSmallLimit) {
      EXPECT_EQ(static_cast<std::uint64_t>(i), s / 16);
    }
    last = i;
  }
}

// ---- Model-based sequences. ----

struct Obj {
  Addr p;
  std::uint64_t n;
};

std::uint8_t pat(int id, std::uint64_t off) {
  return static_cast<std::uint8_t>(id * 131 + off * 7 + (off >> 8));
}

void fill(Addr p, int id, std::uint64_t from, std::uint64_t to) {
  for (std::uint64_t i = from; i < to; ++i) bytes(p)[i] = pat(id, i);
}

bool intact(const Obj& o, int id) {
  for (std::uint64_t i = 0; i < o.n; ++i) {
    if (bytes(o.p)[i] != pat(id, i)) return false;
  }
  return true;
}

// A size from a skewed mix: mostly small, some medium, a few large.
std::uint64_t pick_size(std::uint32_t r, bool allow_huge) {
  switch (r % 16) {
    case 0: return (r >> 4) % 16000;
    case 1: return allow_huge ? (r >> 4) % 600000 : (r >> 4) % 30000;
    case 2:
    case 3: return (r >> 4) % 2000;
    default: return (r >> 4) % 300;
  }
}

using Step = std::tuple<int, std::uint32_t, std::uint32_t>;

// Runs `steps` on `heap`, checking every object after every step; returns the live objects.
// `may_fail`: a bounded heap may refuse a request (the model then keeps the old state).
void run_steps(Heap& heap, const std::vector<Step>& steps, std::map<int, Obj>& live, bool allow_huge,
               bool may_fail) {
  int next_id = 0;
  std::map<Addr, std::pair<Addr, int>> by_addr;  // start -> (end, id)
  auto add = [&](int id, const Obj& o) {
    RC_ASSERT(o.p % 16 == 0);
    RC_ASSERT(heap.usable_size(o.p) >= o.n);
    const Addr end = o.p + std::max<std::uint64_t>(o.n, 1);
    auto it = by_addr.lower_bound(o.p);
    if (it != by_addr.end()) RC_ASSERT(it->first >= end);
    if (it != by_addr.begin()) RC_ASSERT(std::prev(it)->second.first <= o.p);
    by_addr[o.p] = {end, id};
    live[id] = o;
  };
  auto drop = [&](int id) {
    by_addr.erase(live.at(id).p);
    live.erase(id);
  };
  auto nth = [&](std::uint32_t r) {
    auto it = live.begin();
    std::advance(it, static_cast<long>(r % live.size()));
    return it->first;
  };
  for (const auto& [kind, a, b] : steps) {
    const int k = live.empty() ? kind % 3 : kind;
    if (k == 0 || k == 1) {  // malloc
      const std::uint64_t n = pick_size(a, allow_huge);
      const Addr p = heap.malloc(n);
      if (p == 0) {
        RC_ASSERT(may_fail);
        continue;
      }
      fill(p, next_id, 0, n);
      add(next_id++, Obj{p, n});
    } else if (k == 2) {  // calloc
      const std::uint64_t count = a % 64;
      const std::uint64_t size = b % 200;
      const Addr p = heap.calloc(count, size);
      if (p == 0) {
        RC_ASSERT(may_fail);
        continue;
      }
      for (std::uint64_t i = 0; i < count * size; ++i) RC_ASSERT(bytes(p)[i] == 0);
      fill(p, next_id, 0, count * size);
      add(next_id++, Obj{p, count * size});
    } else if (k == 3) {  // memalign
      const std::uint64_t align = std::uint64_t{1} << (a % 13);
      const std::uint64_t n = pick_size(b, allow_huge);
      const Addr p = heap.memalign(align, n);
      if (p == 0) {
        RC_ASSERT(may_fail);
        continue;
      }
      RC_ASSERT(p % align == 0);
      fill(p, next_id, 0, n);
      add(next_id++, Obj{p, n});
    } else if (k == 4 || k == 5) {  // free
      const int id = nth(a);
      RC_ASSERT(intact(live.at(id), id));
      heap.free(live.at(id).p);
      drop(id);
    } else {  // realloc
      const int id = nth(a);
      const Obj o = live.at(id);
      RC_ASSERT(intact(o, id));
      const std::uint64_t n = (b & 1) != 0 ? o.n + pick_size(b >> 1, allow_huge) : pick_size(b >> 1, allow_huge);
      const Addr q = heap.realloc(o.p, n);
      if (n == 0) {
        RC_ASSERT(q == 0);
        drop(id);
        continue;
      }
      if (q == 0) {
        RC_ASSERT(may_fail);
        RC_ASSERT(intact(o, id));  // untouched
        continue;
      }
      drop(id);
      const Obj moved{q, n};
      for (std::uint64_t i = 0; i < std::min(o.n, n); ++i) RC_ASSERT(bytes(q)[i] == pat(id, i));
      fill(q, id, std::min(o.n, n), n);
      add(id, moved);
    }
  }
  for (const auto& [id, o] : live) RC_ASSERT(intact(o, id));
  const std::string why = heap.verify();
  RC_ASSERT(why == "");
}

// The census of a growing heap: the segments tile into blocks; the live ones are exactly the
// live objects; the free ones are exactly what walk_free reaches, once each.
void check_census(Heap& heap, const std::map<int, Obj>& live) {
  std::set<Addr> payloads;
  for (const auto& [id, o] : live) payloads.insert(o.p);
  std::set<Addr> free_blocks;
  std::uint64_t live_blocks = 0;
  std::vector<std::pair<Addr, std::uint64_t>> segs;
  heap.for_each_segment([&](Addr b, std::uint64_t s) { segs.emplace_back(b, s); });
  for (const auto& [base, size] : segs) {
    Addr cursor = base;
    RC_ASSERT(heap.walk_region(base, size, [&](const BlockInfo& bi) {
      RC_ASSERT(bi.start == cursor);
      cursor += bi.size;
      if (bi.kind == BlockInfo::Kind::Free) {
        free_blocks.insert(bi.start);
      } else {
        RC_ASSERT(bi.kind == BlockInfo::Kind::Live);
        RC_ASSERT(payloads.count(bi.payload) == 1u);
        ++live_blocks;
      }
    }));
    RC_ASSERT(cursor == base + size);
  }
  std::multiset<Addr> reached;
  heap.walk_free(1'000'000, [&](const FreeEntry& f) { reached.insert(f.block); });
  RC_ASSERT(std::set<Addr>(reached.begin(), reached.end()) == free_blocks);
  RC_ASSERT(reached.size() == free_blocks.size());
  // Every object outside the segments has a region of its own.
  std::uint64_t in_segments = 0;
  for (const auto& entry : live) {
    const Obj& o = entry.second;
    const bool inside = std::any_of(segs.begin(), segs.end(), [&](const auto& s) {
      return o.p >= s.first && o.p < s.first + s.second;
    });
    if (inside) {
      ++in_segments;
    } else {
      RC_ASSERT(heap.usable_size(o.p) >= o.n);
    }
  }
  RC_ASSERT(live_blocks == in_segments);
}

RC_GTEST_PROP(DlHeapModel, RandomSequencesKeepObjectsIntactAndCoalesceBack, ()) {
  const auto steps = *rc::gen::container<std::vector<Step>>(
      rc::gen::tuple(rc::gen::inRange(0, 8), rc::gen::arbitrary<std::uint32_t>(),
                     rc::gen::arbitrary<std::uint32_t>()));
  DlNativeHeap h;
  std::map<int, Obj> live;
  run_steps(h.heap, steps, live, true, false);
  check_census(h.heap, live);
  for (const auto& [id, o] : live) h.heap.free(o.p);
  RC_ASSERT(h.heap.verify() == "");
  const auto st = h.heap.stats();
  RC_ASSERT(st.used_chunks == 0u);
  RC_ASSERT(st.free_chunks == st.segments);  // one free chunk per segment: all coalesced
  RC_ASSERT(h.heap.invalid_frees() == 0u);
  RC_ASSERT(h.heap.footprint() == h.mem.in_use());
}

RC_GTEST_PROP(DlHeapModel, ArenaStaysInsideItsRange, ()) {
  const auto steps = *rc::gen::container<std::vector<Step>>(
      rc::gen::tuple(rc::gen::inRange(0, 8), rc::gen::arbitrary<std::uint32_t>(),
                     rc::gen::arbitrary<std::uint32_t>()));
  const std::uint64_t size = *rc::gen::inRange<std::uint64_t>(2, 4096) * 32;
  NativeMemory mem;
  const std::uint64_t region = round_up(size + 2 * kPageSize, kPageSize);
  const Addr r = mem.sys_alloc(region);
  RC_ASSERT(r != 0u);
  const Addr start = r + kPageSize - 16 * *rc::gen::inRange(0, 8);
  std::memset(bytes(r), 0x5A, region);
  mem.store64(start, dl::head_word(dl::Kind::Chunk, size, dl::kPInUse | dl::kPrivate));
  Heap arena = Heap::arena(&mem, start, size);
  std::map<int, Obj> live;
  run_steps(arena, steps, live, false, true);
  for (const auto& [id, o] : live) {
    RC_ASSERT(o.p >= start + 16);
    RC_ASSERT(o.p + o.n <= start + size);
  }
  for (const auto& [id, o] : live) arena.free(o.p);
  RC_ASSERT(arena.verify() == "");
  RC_ASSERT(arena.stats().free_chunks == 1u);  // the whole arena is one top chunk again
  RC_ASSERT(arena.top() == start);
  RC_ASSERT(arena.top_size() == size);
  for (Addr a = r; a < start; ++a) RC_ASSERT(bytes(a)[0] == 0x5A);
  for (Addr a = start + size; a < r + region; ++a) RC_ASSERT(bytes(a)[0] == 0x5A);
  mem.sys_free(r, region);
}

}  // namespace
}  // namespace pprsim
