// dmmalloc's cache of freed large regions (alloc/dmmalloc.h): mapping and faulting in a fresh
// region for every large object cost more than the object's own work (realloc-bal, random-bal),
// so a region freed outside a task is kept for the next large object. Bookkeeping only: the
// allocator writes the headers and gives regions back to the system.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "alloc/dm/layout.h"

namespace pprsim::dm {

class KeptRegions {
 public:
  struct Region {
    Addr base;
    std::uint64_t size;
  };

  // Invariants: the first count() entries are the kept regions, oldest first; bytes() is their
  // total; count() <= kCachedRegions and bytes() <= kCacheBytes.
  int count() const { return count_; }
  std::uint64_t bytes() const { return bytes_; }
  const Region& operator[](int i) const { return regions_[static_cast<std::size_t>(i)]; }

  // Whether a region of `size` bytes fits beside those kept.
  bool has_room(std::uint64_t size) const { return count_ < kCachedRegions && bytes_ + size <= kCacheBytes; }

  // requires: has_room(size).
  void add(Addr base, std::uint64_t size) {
    regions_[static_cast<std::size_t>(count_++)] = Region{base, size};
    bytes_ += size;
  }

  // The smallest kept region of at least `size` bytes, taken out, with `size` set to its size;
  // 0 when none is that large.
  Addr take(std::uint64_t& size) {
    int best = -1;
    for (int i = 0; i < count_; ++i) {
      const Region& e = (*this)[i];
      if (e.size >= size && (best < 0 || e.size < (*this)[best].size)) best = i;
    }
    if (best < 0) return 0;
    const Region e = drop(best);
    size = e.size;
    return e.base;
  }

  // requires: count() > 0.
  Region drop_oldest() { return drop(0); }

 private:
  Region drop(int i) {
    const Region e = regions_[static_cast<std::size_t>(i)];
    std::copy(regions_.begin() + i + 1, regions_.begin() + count_, regions_.begin() + i);
    --count_;
    bytes_ -= e.size;
    return e;
  }

  std::array<Region, kCachedRegions> regions_{};
  int count_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace pprsim::dm
