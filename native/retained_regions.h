// Regions the drop-in gave back kept mapped for the next request (native/dmmalloc_preload.cpp):
// hysteresis between the heap and the system. Unmapping every region the core lets go, and
// mapping and faulting in a fresh one at the next request, was most of the cost of a program
// that frees and allocates large objects of the same sizes in turn (an 8-thread stress test made
// 1,638 munmap calls in 2 s where glibc made 152).
//
// At most kRetainHigh bytes are kept; past that the oldest go back to the system until kRetainLow
// are left, so a program whose large frees come in a burst pays one round of munmaps, not one
// per free. A request takes the smallest kept region that holds it (its start; the rest stays
// kept). Kept memory is resident: these bounds are the idle memory the drop-in may hold beyond
// the core's own (its region cache, its free lists).
#pragma once

#include <sys/mman.h>

#include <array>
#include <cstdint>

#include "alloc/memory.h"

namespace pprsim::dropin {

inline constexpr std::uint64_t kRetainHigh = std::uint64_t{64} << 20;
inline constexpr std::uint64_t kRetainLow = std::uint64_t{32} << 20;
inline constexpr int kRetainSlots = 64;

class RetainedRegions {
 public:
  // A kept region of exactly n bytes carved from the smallest one that holds it; 0 when none.
  Addr take(std::uint64_t n) {
    int best = -1;
    for (int i = 0; i < count_; ++i) {
      if (kept_[i].size >= n && (best < 0 || kept_[i].size < kept_[best].size)) best = i;
    }
    if (best < 0) return 0;
    Region& r = kept_[best];
    const Addr a = r.base;
    bytes_ -= n;
    if (r.size == n) {
      drop(best);
    } else {
      r.base += n;
      r.size -= n;
    }
    ++hits_;
    return a;
  }

  // Keeps [a, a + n) mapped for a later take (or unmaps it when it alone is over the bound).
  void keep(Addr a, std::uint64_t n) {
    if (n > kRetainLow) {
      ::munmap(ptr(a), n);
      return;
    }
    if (count_ == kRetainSlots) release(0);
    kept_[count_++] = Region{a, n};
    bytes_ += n;
    if (bytes_ > kRetainHigh) {
      while (bytes_ > kRetainLow) release(0);
    }
  }

  // Everything kept goes back to the system.
  void clear() {
    while (count_ > 0) release(0);
  }

  std::uint64_t bytes() const { return bytes_; }
  std::uint64_t hits() const { return hits_; }

 private:
  struct Region {
    Addr base;
    std::uint64_t size;
  };
  static void* ptr(Addr a) { return reinterpret_cast<void*>(a); }

  void drop(int i) {
    for (int j = i + 1; j < count_; ++j) kept_[j - 1] = kept_[j];
    --count_;
  }
  void release(int i) {
    ::munmap(ptr(kept_[i].base), kept_[i].size);
    bytes_ -= kept_[i].size;
    drop(i);
  }

  std::array<Region, kRetainSlots> kept_{};
  int count_ = 0;
  std::uint64_t bytes_ = 0;
  std::uint64_t hits_ = 0;
};

}  // namespace pprsim::dropin
