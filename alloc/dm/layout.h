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
// Size classes: powers of two from 32 bytes up to kFineFrom (one class per doubling, and the
// one of kCoarseSizes just above a power of two), then
// kPerDoubling classes per doubling above it (2^k times 1 + i / kPerDoubling) up to 256 KiB.
// Every class is a multiple of 32 bytes, so any remainder of a split tiles exactly into smaller
// classes.
// Small blocks stay powers of two: blocks are never joined, and a carve asks for blocks of every
// class its tasks used; spread over four times as many small classes, free memory stopped
// fitting what groups asked for. A 3M-event generated trace (`pprsim gen --seed 3 --events
// 3000000`) at G=8 held 2.9 MB of simulated memory at its peak with powers of two throughout,
// 23.8 MB with four per doubling throughout, 18.1 MB with four per doubling from 1 KiB, 11.3 MB
// from 2 KiB, 3.7 MB from 4 KiB (kFineFrom). Above a page, where a power of two wastes up to half
// of a block that spans pages, four per doubling it is: random-bal ran at 38 M calls/s with
// powers of two there and 52-58 M/s with four per doubling (tcmalloc 59-63), in 6.4 MB instead
// of 8.6 MB (`pprsim bench`, the core linked in); utilization over the 20 CS:APP traces went
// from 0.70 to 0.75, and every CS:APP verdict and commit decision at G 1/4/8 stayed the same.
inline constexpr int kStepShift = 5;
inline constexpr int kFineFromShift = 12;
inline constexpr std::uint64_t kFineFrom = std::uint64_t{1} << kFineFromShift;
inline constexpr int kPerDoublingLog = 2;
inline constexpr int kPerDoubling = 1 << kPerDoublingLog;
// The classes up to kFineFrom: powers of two, and one just above 2 KiB. A request of a power of
// two needs the header's 16 bytes more, so a block of twice the size held it: gawk takes its
// nodes 2 KiB at a time, and building a 600,000-element array it peaked at 140 MB against
// glibc's 74 MB, 0.78x glibc's speed; with 2080-byte blocks, 75 MB and level with glibc. Each
// such class costs speculation memory, as any small class does: the 3M-event trace above peaked
// at 3.7 MB without it, 4.9 MB with it, 6.1 MB with 1056 too and 7.0 MB with 544 as well; over
// the CS:APP traces the carve's reserve grew from 0.12 to 0.17 of what tasks allocated at G=8
// while what tasks grew fell 2% and the peaks stayed (tools/speculation_table.py), and every
// verdict and commit decision at G 1/4/8 stayed the same.
inline constexpr std::uint64_t kCoarseSizes[] = {32, 64, 128, 256, 512, 1024, 2048, 2080, 4096};
inline constexpr int kCoarseClasses = static_cast<int>(std::size(kCoarseSizes));
inline constexpr int kMaxShift = 18;
inline constexpr int kClasses = kCoarseClasses + (kMaxShift - kFineFromShift) * kPerDoubling;
inline constexpr std::uint64_t kHeader = 16;
inline constexpr std::uint64_t kMinBlock = std::uint64_t{1} << kStepShift;
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
inline constexpr std::uint64_t kClassMask = 0xFF;
// A free block of at least this size gives its interior pages back when the heap grows
// (DmMalloc::idle_free_blocks).
inline constexpr std::uint64_t kIdleBlock = std::uint64_t{64} << 10;
inline constexpr int kCachedRegions = 8;
inline constexpr std::uint64_t kCacheBytes = std::uint64_t{32} << 20;

constexpr std::uint64_t class_size(int c) {
  if (c < kCoarseClasses) return kCoarseSizes[c];
  const int j = c - kCoarseClasses;
  const int k = kFineFromShift + j / kPerDoubling;
  return (std::uint64_t{1} << k) + (static_cast<std::uint64_t>(j % kPerDoubling + 1) << (k - kPerDoublingLog));
}

// The smallest coarse class of a block of each size up to kFineFrom, by (size - 1) / kMinBlock.
inline constexpr std::size_t kCoarseSteps = std::size_t{1} << (kFineFromShift - kStepShift);
inline constexpr auto kCoarseClassOf = [] {
  std::array<std::uint8_t, kCoarseSteps> table{};
  int c = 0;
  for (std::size_t i = 0; i < table.size(); ++i) {
    while (kCoarseSizes[c] < (i + 1) << kStepShift) ++c;
    table[i] = static_cast<std::uint8_t>(c);
  }
  return table;
}();

// The smallest class whose block holds `n` payload bytes; kClasses when none does. O(1).
constexpr int class_of(std::uint64_t n) {
  if (n > kTopBlock - kHeader) return kClasses;
  const std::uint64_t m = n + kHeader;  // the block it needs, more than 16 bytes
  if (m <= kFineFrom) return kCoarseClassOf[(m - 1) >> kStepShift];
  const int k = 63 - std::countl_zero(m - 1);  // m lies in (2^k, 2^(k+1)]
  const int step_shift = k - kPerDoublingLog;  // a shift, not a division: this is malloc's fast path
  const auto sub = static_cast<int>((m - (std::uint64_t{1} << k) + (std::uint64_t{1} << step_shift) - 1) >> step_shift);
  return kCoarseClasses + (k - kFineFromShift) * kPerDoubling + sub - 1;
}

// The largest class whose block fits in `bytes` (a multiple of kMinBlock, at least kMinBlock).
constexpr int class_within(std::uint64_t bytes) {
  int c = std::min(class_of(bytes - kHeader), kClasses - 1);
  while (class_size(c) > bytes) --c;
  return c;
}

static_assert(class_size(kClasses - 1) == kTopBlock);
static_assert(class_size(kCoarseClasses - 1) == kFineFrom && class_size(kCoarseClasses) == kFineFrom + kFineFrom / kPerDoubling);
static_assert(kClasses <= 0xFF);
static_assert(std::ranges::is_sorted(kCoarseSizes) && kCoarseSizes[0] == kMinBlock && kCoarseSizes[kCoarseClasses - 1] == kFineFrom);
static_assert(std::ranges::all_of(kCoarseSizes, [](std::uint64_t b) { return b % kMinBlock == 0; }));  // a class fits kClassMask, whose all-ones value marks a large region

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
static_assert(class_of(kFineFrom - kHeader) == kCoarseClasses - 1 && class_of(kFineFrom - kHeader + 1) == kCoarseClasses);
static_assert(class_of(kTopBlock - kHeader) == kClasses - 1 && class_of(kTopBlock) == kClasses);
static_assert(kTopBlock % kPageSize == 0);
}  // namespace dm

}  // namespace pprsim
