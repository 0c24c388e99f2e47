// The per-thread caches of the drop-in (native/dmmalloc_preload.cpp): free blocks of every size
// class that one thread may take and give back without the process-wide lock.
//
// A cached block is a free block of the core in the core's own format (word0 = magic | class,
// word1 = next block of the same list), only on a thread's list instead of the core's: heap
// misuse checks read it as freed, and a list moves to and from the core in one splice. In a
// process with more than one thread each class holds at most cap(c) blocks (at most kClassBytes
// of them, at most kMaxCount, at least one), so a thread keeps at most 1.9 MiB the rest of the
// process cannot take at once (32 KiB for each class up to 32 KiB, one block of each larger
// class; tcmalloc's per-thread caches grow to a few MiB); a process with one thread has no cap
// (only a soft one that asks whether to trim, kSoloCap) and takes the core's whole list of a
// class at once (when a second thread starts, such a list goes back once it is past cap(c) and
// its thread has taken the caps of a process with threads). Both moves are batches under the lock: an empty list takes a list
// another thread gave back whole (TransferStack), else up to cap(c) blocks from the core (a
// segment of the core's list, or blocks cut afresh); a full one goes back whole.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "alloc/dmmalloc.h"

namespace pprsim::dropin {

// Every class is cached (the larger ones one block deep): a program of large objects gained
// as much from leaving the lock out as one of small ones.
inline constexpr int kCachedClasses = dm::kClasses;
inline constexpr std::uint64_t kCachedRequest = dm::class_size(kCachedClasses - 1) - dm::kHeader;
inline constexpr std::uint32_t kMaxCount = 32;
inline constexpr std::uint64_t kClassBytes = std::uint64_t{32} << 10;

constexpr std::uint32_t cap(int c) {
  return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(kClassBytes / dm::class_size(c), 1, kMaxCount));
}
constexpr std::uint32_t refill_count(int c) { return cap(c); }
// Blocks a thread's first refill of a class cuts afresh when the heap has none listed; each
// further fresh refill of that class cuts twice as many, up to refill_count(c). Cutting a full
// list at once wrote headers into pages a thread that allocates a handful of objects never
// used: one thread of the falseshare workload held 160 KiB against glibc's 144 KiB, 140 KiB
// this way.
inline constexpr std::uint32_t kFirstCut = 4;
// cap(c) per class, looked up rather than computed on the free path.
inline constexpr auto kCap = [] {
  std::array<std::uint32_t, kCachedClasses> t{};
  for (int c = 0; c < kCachedClasses; ++c) t[static_cast<std::size_t>(c)] = cap(c);
  return t;
}();

static_assert(kCachedClasses <= dm::kClasses);

// A process with one thread has no cap, but each class's list starts with a soft one: reaching
// it sends that free the slow way, which asks the core whether the cache holds enough free
// memory for a trim (DmMalloc::trim_due). If it does, the cache goes back to the core and the
// core gives free pages back to the system (DmMalloc::trim); if not, the list's soft cap
// doubles. Every soft cap starts again from kSoloCap after a trim. At 1 MiB a class, a class's
// list is asked about after 1, 2, 4 MiB... of frees, a handful of slow frees in all.
// The cap in force is the list's own `limit` (kSoloCap's with one thread, kCap's with more),
// so the free fast path makes one compare in either case. A thread that registered while alone
// takes kCap's at its first slow path after a second thread started (its next refill, or the
// free that finds its list at the soft cap): until then it may hold its soft caps' worth, as
// a process with one thread did before the second started.
inline constexpr std::uint64_t kSoloClassBytes = std::uint64_t{1} << 20;
inline constexpr auto kSoloCap = [] {
  std::array<std::uint64_t, kCachedClasses> t{};
  for (int c = 0; c < kCachedClasses; ++c) {
    t[static_cast<std::size_t>(c)] = std::max<std::uint64_t>(cap(c), kSoloClassBytes / dm::class_size(c));
  }
  return t;
}();

// A list of free blocks. In a thread's cache, `limit` is the count at which a free takes the
// slow path: the cap in force, which only the owning thread sets. Moving blocks in or out of a
// cache's list keeps its limit (replace, take_all).
struct ClassList {
  Addr head;
  Addr tail;  // valid while count > 0
  std::uint64_t count;
  std::uint64_t limit;
};

// l holds the blocks of `with` (its own limit kept).
inline void replace(ClassList& l, const ClassList& with) {
  l.head = with.head;
  l.tail = with.tail;
  l.count = with.count;
}

// Whole lists that threads gave back, kept whole for the next thread that runs out of that
// class (under the process-wide lock): a consumer's full list becomes a producer's refill in
// O(1). Taking a segment off the core's list instead walked its links, cold in another core's
// cache, while holding the lock every other thread waited for (91% of the refills' samples in
// the producer/consumer workload of `pprsim bench --threads`). A stack of lists of exactly
// cap(c) blocks each, linked through their first blocks' payload: +16 the next list's head,
// +24 this list's tail (every class has at least 16 bytes of payload).
struct TransferStack {
  Addr top = 0;
  std::uint64_t lists = 0;

  // requires: l holds cap(c) blocks of class c.
  void put(const ClassList& l) {
    *reinterpret_cast<Addr*>(l.head + 16) = top;
    *reinterpret_cast<Addr*>(l.head + 24) = l.tail;
    top = l.head;
    ++lists;
  }
  // requires: lists > 0; c is the stack's class.
  ClassList take(int c) {
    const Addr h = top;
    top = *reinterpret_cast<const Addr*>(h + 16);
    --lists;
    return ClassList{h, *reinterpret_cast<const Addr*>(h + 24), kCap[static_cast<std::size_t>(c)], 0};
  }
};

enum class CacheState : std::uint8_t { Unregistered, Active, Dead };

// One thread's cache: zero-initialised thread-local storage, registered (a doubly linked list
// the lock guards) the first time it takes blocks from the core.
struct ThreadCache {
  // Nonzero exactly when the lock-free paths may use this cache: it is registered, caching is
  // on (no group open), and the thread is not inside the allocator. One load decides.
  std::uint32_t on;
  CacheState state;
  ClassList lists[kCachedClasses];
  std::uint32_t cut[kCachedClasses];  // blocks the next fresh refill cuts (0: kFirstCut)
  bool solo;                          // its lists' limits are kSoloCap's
  ThreadCache* prev;
  ThreadCache* next;
};

// pop_cached and push_cached read a list's fields into locals and write them back before their
// branch: after it, GCC computed the thread-local list's address again (the thread pointer's load
// and two adds on each of malloc's and free's fast paths; 5% of mutt's instructions a pass).
inline Addr pop_cached(ClassList& l) {
  const Addr b = l.head;
  const Addr next = *reinterpret_cast<const Addr*>(b + 8);
  l.head = next;
  --l.count;
  // The next pop reads the new head's link: a block freed long ago is cold, and that load was
  // where malloc spent 38% of its samples. Not when the list ran empty: a prefetch of address 0
  // walks the page tables for a page that is not there.
  if (next != 0) __builtin_prefetch(reinterpret_cast<const void*>(next), 1);
  return b;
}

inline void push_cached(ClassList& l, int c, Addr b) {
  const Addr head = l.head;
  const std::uint64_t count = l.count;
  *reinterpret_cast<std::uint64_t*>(b) = dm::kMagic | static_cast<std::uint64_t>(c);
  *reinterpret_cast<Addr*>(b + 8) = head;
  l.head = b;
  l.count = count + 1;
  if (count == 0) l.tail = b;
}

// Bytes of the free blocks cache t holds.
inline std::uint64_t cached_bytes(const ThreadCache& t) {
  std::uint64_t bytes = 0;
  for (int c = 0; c < kCachedClasses; ++c) bytes += t.lists[c].count * dm::class_size(c);
  return bytes;
}

// The whole list, taken out (the cache's list is left empty).
inline ClassList take_all(ClassList& l) {
  const ClassList all = l;
  replace(l, ClassList{});
  return all;
}

// Every list of cache t at the caps of a process with one thread (kSoloCap) or with more (kCap).
inline void set_limits(ThreadCache& t, bool solo) {
  for (std::size_t c = 0; c < kCachedClasses; ++c) t.lists[c].limit = solo ? kSoloCap[c] : kCap[c];
  t.solo = solo;
}

}  // namespace pprsim::dropin
