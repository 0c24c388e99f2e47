// The one interface through which an allocator touches memory. An allocator is a template over
// a type satisfying `Memory`; alloc/native_memory.h backs it with real mmap'd memory and
// sim/sim_memory.h with the simulated, copy-on-write, access-tracked address space.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>

namespace pprsim {

using Addr = std::uint64_t;

inline constexpr std::uint64_t kPageSize = 4096;

constexpr std::uint64_t round_up(std::uint64_t n, std::uint64_t to) { return (n + to - 1) / to * to; }

template <class M>
concept Memory = requires(M& m, Addr a, std::uint64_t v, std::uint64_t n, void* out,
                          const void* in) {
  // Word access; `a` is 8-byte aligned.
  { m.load64(a) } -> std::same_as<std::uint64_t>;
  { m.store64(a, v) } -> std::same_as<void>;
  // Byte ranges.
  { m.read(a, out, n) } -> std::same_as<void>;
  { m.write(a, in, n) } -> std::same_as<void>;
  { m.zero(a, n) } -> std::same_as<void>;
  { m.copy(a, a, n) } -> std::same_as<void>;  // copy(dst, src, n), ranges do not overlap
  // System memory: page-aligned, zero-filled regions of a multiple of kPageSize bytes.
  // sys_alloc returns 0 when the request is refused (limit reached or failure injected).
  { m.sys_alloc(n) } -> std::same_as<Addr>;
  { m.sys_free(a, n) } -> std::same_as<void>;
  // Grows region [a, a + n) to v bytes (v > n, a multiple of kPageSize), keeping its bytes:
  // returns the region's new start (it may move; the old range is then released), or 0 when
  // refused, with the old region untouched. Native memory moves pages without copying them.
  { m.sys_grow(a, n, v) } -> std::same_as<Addr>;
  // System memory for a speculative task, from that task's own slice of address space: disjoint
  // from every other task's and from what the parent holds, so obtaining it touches nothing
  // shared, and a commit adopts it as it is. 0 when refused or when this process has no slice
  // (the task must then give up). Released with sys_free like any region.
  { m.task_sys_alloc(n) } -> std::same_as<Addr>;
  // The pages [a, a + n) of a region the allocator holds carry nothing it needs (a free block's
  // interior): the system may take them back. They stay mapped and read as zero afterwards.
  // requires: a and n are multiples of kPageSize.
  { m.sys_idle(a, n) } -> std::same_as<void>;
};

}  // namespace pprsim
