// What every allocator of alloc/ does the same way around its own malloc: calloc as a zeroed
// malloc with the multiplication checked, and the power-of-two test of memalign.
#pragma once

#include <cstdint>

#include "alloc/memory.h"

namespace pprsim {

// requires: align is the argument of memalign. True for a power of two.
constexpr bool valid_alignment(std::uint64_t align) { return align != 0 && (align & (align - 1)) == 0; }

// calloc(count, size) of allocator `a` (its malloc, then zeroed through `mem`): 0 when count *
// size overflows or exceeds max_request, or when malloc fails.
template <class A, class Mem>
Addr zeroed_malloc(A& a, Mem& mem, std::uint64_t count, std::uint64_t size, std::uint64_t max_request) {
  if (size != 0 && count > max_request / size) return 0;
  const std::uint64_t n = count * size;
  const Addr p = a.malloc(n);
  if (p != 0) mem.zero(p, n);
  return p;
}

}  // namespace pprsim
