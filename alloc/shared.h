// shared: the control allocator that must be falsified. The size-class core of dmmalloc used
// as an ordinary sequential allocator, unaware of PPRs: its group hooks do nothing, so every
// task pops the same free-list heads and the tasks' allocations conflict.
#pragma once

#include <span>
#include <string>

#include "alloc/dmmalloc.h"

namespace pprsim {

template <Memory Mem>
class SharedMalloc {
 public:
  explicit SharedMalloc(Mem* mem) : core_(mem) {}

  void bind(Mem* mem) { core_.bind(mem); }

  Addr malloc(std::uint64_t n) { return core_.malloc(n); }
  Addr calloc(std::uint64_t count, std::uint64_t size) { return core_.calloc(count, size); }
  Addr memalign(std::uint64_t align, std::uint64_t n) { return core_.memalign(align, n); }
  Addr realloc(Addr p, std::uint64_t n) { return core_.realloc(p, n); }
  void free(Addr p) { core_.free(p); }
  std::uint64_t usable_size(Addr p) { return core_.usable_size(p); }

  // The group hooks do nothing: that is what makes this allocator unsafe inside PPR tasks.
  bool group_init(int) { return true; }
  void task_init(int) {}
  void understudy_init() {}
  void merge(std::span<const SharedMalloc* const>, std::size_t) {}
  void learn(std::span<const SharedMalloc* const>) {}

  bool gave_up() const { return false; }
  std::uint64_t reserved_bytes() const { return 0; }
  std::uint64_t task_allocated_bytes() const { return 0; }

  template <class Visit>
  bool walk_region(Addr base, std::uint64_t size, Visit&& visit) {
    return core_.walk_region(base, size, visit);
  }
  template <class Visit>
  void walk_free(std::uint64_t max_steps, Visit&& visit) {
    core_.walk_free(max_steps, visit);
  }
  std::string describe(Addr base, std::uint64_t size, Addr a) { return core_.describe(base, size, a); }
  // The core's invariants (DmMalloc::verify); there are no partitions.
  std::string verify() { return core_.verify(); }

 private:
  DmMalloc<Mem> core_;
};

}  // namespace pprsim
