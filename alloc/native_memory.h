// Native backend of the memory interface: addresses are real pointers, system memory is mmap.
// No tracking; the allocator runs at full speed.
#pragma once

#include <sys/mman.h>

#include <cstring>

#include "alloc/memory.h"

namespace pprsim {

class NativeMemory {
 public:
  // requires: limit_bytes is the most system memory this backend hands out (0 = no limit).
  explicit NativeMemory(std::uint64_t limit_bytes = 0) : limit_(limit_bytes) {}

  std::uint64_t load64(Addr a) { return *reinterpret_cast<const std::uint64_t*>(a); }
  void store64(Addr a, std::uint64_t v) { *reinterpret_cast<std::uint64_t*>(a) = v; }
  void read(Addr a, void* out, std::uint64_t n) { std::memcpy(out, ptr(a), n); }
  void write(Addr a, const void* in, std::uint64_t n) { std::memcpy(ptr(a), in, n); }
  void zero(Addr a, std::uint64_t n) { std::memset(ptr(a), 0, n); }
  void copy(Addr dst, Addr src, std::uint64_t n) { std::memcpy(ptr(dst), ptr(src), n); }

  Addr sys_alloc(std::uint64_t n) {
    if (limit_ != 0 && (n > limit_ || in_use_ > limit_ - n)) return 0;
    void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 0;
    in_use_ += n;
    return reinterpret_cast<Addr>(p);
  }
  void sys_free(Addr a, std::uint64_t n) {
    if (a >= slice_base_ && a < slice_end_) {
      // Inside the task's slice: back to reserved address space, so that no other mapping can
      // land in the range the runtime commits.
      ::mmap(ptr(a), n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
    } else {
      ::munmap(ptr(a), n);
    }
    in_use_ -= n;
  }
  Addr sys_grow(Addr a, std::uint64_t n, std::uint64_t v) {
    if (limit_ != 0 && (v - n > limit_ || in_use_ > limit_ - (v - n))) return 0;
    void* p = ::mremap(ptr(a), n, v, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) return 0;
    in_use_ += v - n;
    return reinterpret_cast<Addr>(p);
  }

  // Regions from the slice [base, base + bytes) that a fork-based runtime reserved for this
  // task (for instance PROT_NONE pages mapped by the parent before the fork), mapped in place
  // from its start on. Without a slice (bytes 0, the default) tasks get no system memory.
  // requires: base and bytes are multiples of kPageSize.
  void confine(Addr base, std::uint64_t bytes) {
    slice_base_ = base;
    slice_next_ = base;
    slice_end_ = base + bytes;
  }
  Addr slice_cursor() const { return slice_next_; }  // where the next slice region goes; 0: none
  bool in_slice(Addr a) const { return a >= slice_base_ && a < slice_end_; }
  Addr task_sys_alloc(std::uint64_t n) {
    if (slice_next_ >= slice_end_ || n > slice_end_ - slice_next_) return 0;
    if (limit_ != 0 && (n > limit_ || in_use_ > limit_ - n)) return 0;
    void* p = ::mmap(ptr(slice_next_), n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) return 0;
    slice_next_ += n;
    in_use_ += n;
    return reinterpret_cast<Addr>(p);
  }

  void sys_idle(Addr a, std::uint64_t n) { ::madvise(ptr(a), n, MADV_DONTNEED); }

  std::uint64_t in_use() const { return in_use_; }

 private:
  static void* ptr(Addr a) { return reinterpret_cast<void*>(a); }
  std::uint64_t limit_;
  std::uint64_t in_use_ = 0;
  Addr slice_base_ = 0;
  Addr slice_next_ = 0;
  Addr slice_end_ = 0;
};

static_assert(Memory<NativeMemory>);

}  // namespace pprsim
