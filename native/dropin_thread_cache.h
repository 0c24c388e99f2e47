// The per-thread caches of the drop-in (native/dmmalloc_preload.cpp): free blocks of the small
// size classes that one thread may take and give back without the process-wide lock.
//
// A cached block is a free block of the core in the core's own format (word0 = magic | class,
// word1 = next block of the same list), only on a thread's list instead of the core's: heap
// misuse checks read it as freed, and handing the list back to the core is one push per block.
// Each class holds at most cap(c) blocks (at most kClassBytes of them, at most kMaxCount), so a
// thread keeps at most ~200 KiB the rest of the process cannot use; an empty list takes
// cap(c) / 2 blocks from the core under the lock, a full one gives half back under the lock.
#pragma once

#include <algorithm>
#include <cstdint>

#include "alloc/dmmalloc.h"

namespace pprsim::dropin {

// Classes up to 32 KiB are cached; larger blocks go through the lock (their own work dwarfs it).
inline constexpr int kCachedClasses = dm::class_of((std::uint64_t{32} << 10) - dm::kHeader) + 1;
inline constexpr std::uint64_t kCachedRequest = dm::class_size(kCachedClasses - 1) - dm::kHeader;
inline constexpr std::uint32_t kMaxCount = 32;
inline constexpr std::uint64_t kClassBytes = std::uint64_t{32} << 10;

constexpr std::uint32_t cap(int c) {
  return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(kClassBytes / dm::class_size(c), 1, kMaxCount));
}
constexpr std::uint32_t refill_count(int c) { return std::max<std::uint32_t>(1, cap(c) / 2); }

static_assert(dm::class_size(kCachedClasses - 1) == std::uint64_t{32} << 10);
static_assert(kCachedClasses <= dm::kClasses);

struct ClassList {
  Addr head;
  std::uint32_t count;
};

enum class CacheState : std::uint8_t { Unregistered, Active, Dead };

// One thread's cache: zero-initialised thread-local storage, registered (a doubly linked list
// the lock guards) the first time it takes blocks from the core.
struct ThreadCache {
  ClassList lists[kCachedClasses];
  ThreadCache* prev;
  ThreadCache* next;
  CacheState state;
};

inline Addr pop_cached(ClassList& l) {
  const Addr b = l.head;
  l.head = *reinterpret_cast<const Addr*>(b + 8);
  --l.count;
  return b;
}

inline void push_cached(ClassList& l, int c, Addr b) {
  *reinterpret_cast<std::uint64_t*>(b) = dm::kMagic | static_cast<std::uint64_t>(c);
  *reinterpret_cast<Addr*>(b + 8) = l.head;
  l.head = b;
  ++l.count;
}

// The list past its first `keep` blocks, cut off (returned as its head; 0 when none).
inline Addr cut_after(ClassList& l, std::uint32_t keep) {
  if (l.count <= keep) return 0;
  if (keep == 0) {
    const Addr all = l.head;
    l.head = 0;
    l.count = 0;
    return all;
  }
  Addr b = l.head;
  for (std::uint32_t i = 1; i < keep; ++i) b = *reinterpret_cast<const Addr*>(b + 8);
  const Addr rest = *reinterpret_cast<const Addr*>(b + 8);
  *reinterpret_cast<Addr*>(b + 8) = 0;
  l.count = keep;
  return rest;
}

}  // namespace pprsim::dropin
