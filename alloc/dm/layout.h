// dmmalloc's block layout and size classes (alloc/dmmalloc.h): the header words and their bits,
// the classes and the arithmetic from a request to its class. Plain constants and constexpr
// functions, shared by the allocator, its census and the drop-in's thread caches.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <iterator>

#include "alloc/memory.h"

namespace pprsim {

namespace dm {
// Size classes: up to kFineFrom, every 16 bytes to 128, then four per doubling (2^k times 1 + i / 4)
// with one just above 512 bytes, 1 KiB and 2 KiB (kSmallSizes); above it, kPerDoubling classes per
// doubling up to 256 KiB and one just above each power of two. Every class is a multiple of kGrain
// (16 bytes) and at least kMinBlock (32), so any remainder of a split tiles exactly into smaller
// classes, except one of exactly 16 bytes, which no block can be: nothing is cut that would leave
// one (can_cut).
//
// Tasks allocate from fewer classes (kTaskSmallSizes: the powers of two and 2080 up to a page,
// then the quarters above): a task rounds its request up to one of them (task_class), and splits
// and grows only into them. Blocks are not joined as they are freed (alloc/dm/join.h joins
// neighbours outside groups only, before the heap grows) and a carve hands every task blocks of each
// class its tasks used, so speculation memory grows with the classes tasks use: a 3M-event
// generated trace (`pprsim gen --seed 3 --events 3000000`) at G=8 held 2.9 MB of simulated memory
// at its peak when tasks used powers of two throughout, 23.8 MB with four per doubling throughout,
// 18.1 MB with four per doubling from 1 KiB, 11.3 MB from 2 KiB, 3.7 MB from 4 KiB (kFineFrom).
// Sequential code, where no carve is made, takes the finer classes: a 600-byte request takes a
// 640-byte block, not a 1 KiB one.
//
// Above a page, where a power of two wastes up to half of a block that spans pages, four per
// doubling it is for tasks too: random-bal ran at 38 M calls/s with powers of two there and
// 52-58 M/s with four per doubling (tcmalloc 59-63), in 6.4 MB instead of 8.6 MB (`pprsim bench`,
// the core linked in); utilization over the 20 CS:APP traces went from 0.70 to 0.75, and every
// CS:APP verdict and commit decision at G 1/4/8 stayed the same.
inline constexpr int kGrainShift = 4;
inline constexpr std::uint64_t kGrain = std::uint64_t{1} << kGrainShift;
inline constexpr int kFineFromShift = 12;
inline constexpr std::uint64_t kFineFrom = std::uint64_t{1} << kFineFromShift;
inline constexpr int kPerDoublingLog = 2;
inline constexpr int kPerDoubling = 1 << kPerDoublingLog;
// Above kFineFrom each doubling from 2^k has one more class, 2^k + kGrain, for sequential code: a
// request of a power of two (a 4, 8 or 64 KiB buffer) needs the header's 16 bytes more, and took
// a block a quarter larger.
inline constexpr int kAbovePerDoubling = kPerDoubling + 1;
// The classes up to kFineFrom. 2080: a request of a power of two needs the header's 16 bytes
// more, so a block of twice the size held it: gawk takes its nodes 2 KiB at a time, and building
// a 600,000-element array it peaked at 140 MB against glibc's 74 MB, 0.78x glibc's speed; with
// 2080-byte blocks, 75 MB and level with glibc. As a task class it costs speculation memory, as
// any small task class does: the 3M-event trace above peaked at 3.7 MB without it, 4.9 MB with
// it, 6.1 MB with 1056 too and 7.0 MB with 544 as well; over the CS:APP traces the carve's
// reserve grew from 0.12 to 0.17 of what tasks allocated at G=8 while what tasks grew fell 2% and
// the peaks stayed (tools/speculation_table.py), and every verdict and commit decision at G 1/4/8
// stayed the same.
// 48 to 112: a request of 17 to 32 bytes (the most frequent after the smallest in several CS:APP
// traces and in programs) took a 64-byte block, twice glibc's 32 or 48; 528 and 1040 for requests
// of 512 bytes and 1 KiB.
inline constexpr std::uint64_t kSmallSizes[] = {32,   48,   64,   80,   96,   112,  128,  160,  192,  224,
                                                256,  320,  384,  448,  512,  528,  640,  768,  896,  1024,
                                                1040, 1280, 1536, 1792, 2048, 2080, 2560, 3072, 3584, 4096};
// Task classes are multiples of 32 bytes, so a task's splits and growths never leave a 16-byte
// remainder.
inline constexpr std::uint64_t kTaskSmallSizes[] = {32, 64, 128, 256, 512, 1024, 2048, 2080, 4096};
inline constexpr int kSmallClasses = static_cast<int>(std::size(kSmallSizes));
inline constexpr int kMaxShift = 18;
inline constexpr int kClasses = kSmallClasses + (kMaxShift - kFineFromShift) * kAbovePerDoubling;
inline constexpr std::uint64_t kHeader = 16;
inline constexpr std::uint64_t kMinBlock = 2 * kGrain;
inline constexpr std::uint64_t kTopBlock = std::uint64_t{1} << kMaxShift;
// A task out of partition memory for a block of at least this size maps the object a region of
// its own instead of growing a block (DmMalloc::malloc).
inline constexpr std::uint64_t kTaskRegionBlock = kPageSize;
inline constexpr std::uint64_t kMaxRequest = std::uint64_t{1} << 40;
inline constexpr std::uint64_t kMagic = std::uint64_t{0xD1A7} << 48;
inline constexpr std::uint64_t kMagicMask = std::uint64_t{0xFFFF} << 48;
inline constexpr std::uint64_t kLive = 1u << 8;
inline constexpr std::uint64_t kLarge = 1u << 9;
inline constexpr std::uint64_t kShim = 1u << 10;
inline constexpr std::uint64_t kTop = 1u << 11;
inline constexpr std::uint64_t kIdle = 1u << 12;  // a free block whose interior pages went back
// A live block DmMalloc::grow_into_top grew: its free must reach the core's free, which gives it
// back to the top when it still ends there (DmMalloc::rejoin_top). The flag makes the fast paths'
// one masked compare of the header fail for it, so they need no test of their own (a flag left on
// a block the core grew earlier only sends its free the slow way once).
inline constexpr std::uint64_t kGrown = 1u << 13;
// Set on a listed block's header only while DmMalloc::join_free_blocks runs: kJoin marks the
// blocks on the shared lists (a free header elsewhere is a block a drop-in thread cache holds,
// which the core must not take), kJoined a block that became part of a larger one.
inline constexpr std::uint64_t kJoin = 1u << 14;
inline constexpr std::uint64_t kJoined = 1u << 15;
inline constexpr std::uint64_t kClassMask = 0xFF;
// A free block of at least this size gives its interior pages back when the heap grows
// (DmMalloc::idle_free_blocks).
inline constexpr std::uint64_t kIdleBlock = std::uint64_t{64} << 10;
// The chunks whose free neighbours DmMalloc::join_free_blocks joins: those of the newest
// kJoinSpans spans, a span being chunks the system mapped side by side (mmap hands out
// neighbouring ranges one after another, so a span usually holds most of the heap); before the
// heap grows, the newest kJoinChunks of them (64 MiB), a trim all. A ring in the allocator
// itself: the join allocates nothing, so an instance that serves the drop-in's own bookkeeping
// can join too. A ring of the newest 256 chunks instead left all but 64 MiB of a larger heap
// unjoined: 20,000 objects of 10 KB freed kept 142 MB of 200 resident.
inline constexpr int kJoinSpans = 128;
inline constexpr std::uint64_t kJoinChunks = 256;
// A trim (alloc/dm/trim.h) follows an eighth of the heap freed, at least kTrimFrom bytes; that
// least doubles each time a program took back what the last trim gave, kTrimBackoffs times at
// most (8 GiB).
inline constexpr std::uint64_t kTrimFrom = std::uint64_t{8} << 20;
inline constexpr int kTrimBackoffs = 10;
// A trim joins free neighbours only when the listed free blocks are this large on average.
inline constexpr std::uint64_t kTrimJoinBlock = std::uint64_t{4} << 10;
inline constexpr int kCachedRegions = 8;
inline constexpr std::uint64_t kCacheBytes = std::uint64_t{32} << 20;

constexpr std::uint64_t class_size(int c) {
  if (c < kSmallClasses) return kSmallSizes[c];
  const int j = c - kSmallClasses;
  const int k = kFineFromShift + j / kAbovePerDoubling;
  const int i = j % kAbovePerDoubling;  // 0: just above 2^k; else i quarters of 2^k above it
  return (std::uint64_t{1} << k) + (i == 0 ? kGrain : static_cast<std::uint64_t>(i) << (k - kPerDoublingLog));
}

// The smallest class of a block of each size up to kTableTo, by (size - 1) / kGrain: class_of's
// first case, and the drop-in malloc's inline fast path. It reaches past kFineFrom to 32 KiB (2 KiB
// of table): requests of 4-32 KiB went through the general case out of line, and the CS:APP
// traces ask for them often (coalescing-bal's 4095 and 8190 bytes, random-bal's up to 32 KiB).
inline constexpr std::uint64_t kTableTo = std::uint64_t{32} << 10;
inline constexpr auto kClassTable = [] {
  std::array<std::uint8_t, (kTableTo >> kGrainShift)> table{};
  int c = 0;
  for (std::size_t i = 0; i < table.size(); ++i) {
    while (class_size(c) < (i + 1) << kGrainShift) ++c;
    table[i] = static_cast<std::uint8_t>(c);
  }
  return table;
}();

// The smallest class whose block holds `n` payload bytes; kClasses when none does. O(1).
constexpr int class_of(std::uint64_t n) {
  if (n > kTopBlock - kHeader) return kClasses;
  const std::uint64_t m = n + kHeader;  // the block it needs, more than 16 bytes
  if (m <= kTableTo) return kClassTable[(m - 1) >> kGrainShift];
  const int k = 63 - std::countl_zero(m - 1);  // m lies in (2^k, 2^(k+1)]
  const int step_shift = k - kPerDoublingLog;  // a shift, not a division: this is malloc's fast path
  const std::uint64_t over = m - (std::uint64_t{1} << k);
  const auto sub = over <= kGrain ? 0 : static_cast<int>((over + (std::uint64_t{1} << step_shift) - 1) >> step_shift);
  return kSmallClasses + (k - kFineFromShift) * kAbovePerDoubling + sub;
}

// The largest class whose block fits in `bytes` (a multiple of kGrain, at least kMinBlock).
constexpr int class_within(std::uint64_t bytes) {
  int c = std::min(class_of(bytes - kHeader), kClasses - 1);
  while (class_size(c) > bytes) --c;
  return c;
}

// Whether `take` bytes can be cut from `have` bytes (both multiples of kGrain): the rest, if any,
// must be able to hold a block, so it cannot be exactly kGrain bytes.
constexpr bool can_cut(std::uint64_t have, std::uint64_t take) { return take <= have && have - take != kGrain; }

// The largest class that can be cut from `bytes` (a multiple of kGrain, at least kMinBlock): the
// first block when tiling them.
constexpr int tile_class(std::uint64_t bytes) {
  int c = class_within(bytes);
  while (!can_cut(bytes, class_size(c))) --c;  // 48 is a class: c never passes class 0 here
  return c;
}

// Whether tasks allocate class c's blocks (kTaskSmallSizes, and the quarters above a page).
constexpr bool is_task_class(int c) {
  if (c >= kSmallClasses) return (c - kSmallClasses) % kAbovePerDoubling != 0;
  return std::ranges::find(kTaskSmallSizes, kSmallSizes[c]) != std::end(kTaskSmallSizes);
}

// The class a task takes for a request of class c: the smallest task class at least as large.
inline constexpr auto kTaskClassOf = [] {
  std::array<std::uint8_t, kClasses> table{};
  for (int c = 0; c < kClasses; ++c) {
    int t = c;
    while (!is_task_class(t)) ++t;
    table[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(t);
  }
  return table;
}();
constexpr int task_class(int c) { return kTaskClassOf[static_cast<std::size_t>(c)]; }

// The largest task class whose block fits in `bytes` (a multiple of 32, at least kMinBlock).
constexpr int task_class_within(std::uint64_t bytes) {
  int c = class_within(bytes);
  while (!is_task_class(c)) --c;
  return c;
}

static_assert(class_size(kClasses - 1) == kTopBlock);
static_assert(class_size(kSmallClasses - 1) == kFineFrom && class_size(kSmallClasses) == kFineFrom + kGrain &&
              class_size(kSmallClasses + 1) == kFineFrom + kFineFrom / kPerDoubling);
static_assert(kClasses <= 0xFF);  // a class fits kClassMask, whose all-ones value marks a large region
static_assert(std::ranges::all_of(kTaskSmallSizes, [](std::uint64_t b) { return std::ranges::find(kSmallSizes, b) != std::end(kSmallSizes); }));
static_assert(kTaskSmallSizes[0] == kMinBlock && is_task_class(kSmallClasses - 1));  // every remainder tiles into task classes
static_assert(std::ranges::is_sorted(kSmallSizes) && kSmallSizes[0] == kMinBlock && kSmallSizes[kSmallClasses - 1] == kFineFrom);
static_assert(std::ranges::all_of(kSmallSizes, [](std::uint64_t b) { return b % kGrain == 0; }));
static_assert(std::ranges::all_of(kTaskSmallSizes, [](std::uint64_t b) { return b % (2 * kGrain) == 0; }));
static_assert(kSmallSizes[1] == kMinBlock + kGrain);  // tile_class needs a class of 48 bytes

// What realloc asks for when an object of `old` usable bytes grows to `n`: half as much again
// as the old size once the object is past a kilobyte, so that a run of small growths copies each
// byte a bounded number of times (as a growing vector does) instead of once per class or, above
// the largest class, once per growth.
inline constexpr std::uint64_t kGeometricFrom = 1024;
// A growing object this large moves to a region of its own (DmMalloc::region_for_growth).
inline constexpr std::uint64_t kGrowIntoRegion = std::uint64_t{64} << 10;
constexpr std::uint64_t growth_request(std::uint64_t old, std::uint64_t n) {
  if (old < kGeometricFrom) return n;
  const std::uint64_t ahead = old + old / 2;
  return ahead > n && ahead <= kMaxRequest ? ahead : n;
}
static_assert(class_of(0) == 0 && class_of(16) == 0 && class_of(17) == 1);
static_assert(class_of(kFineFrom - kHeader) == kSmallClasses - 1 && class_of(kFineFrom - kHeader + 1) == kSmallClasses);
static_assert(class_of(kTopBlock - kHeader) == kClasses - 1 && class_of(kTopBlock) == kClasses);
static_assert(kTableTo < kTopBlock && class_size(kClassTable.back()) >= kTableTo &&
              class_size(kClassTable.back() - 1) < kTableTo);
static_assert(kTopBlock % kPageSize == 0);
}  // namespace dm

}  // namespace pprsim
