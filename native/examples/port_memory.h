// Memory (alloc/memory.h) over a native worker's own memory, for ports that run one of the
// project's allocator templates natively (dmmalloc_port.cpp, comalloc_port.cpp): plain loads and
// stores, which the native build instruments, and system memory from pprsim (inside a task, from
// the task's slice).
#pragma once

#include <cstdint>
#include <cstring>

#include "alloc/memory.h"
#include "pprsim_port.h"

namespace pprsim::port {

inline void* ptr(Addr a) { return reinterpret_cast<void*>(static_cast<std::uintptr_t>(a)); }
inline Addr addr(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

struct PortMemory {
  std::uint64_t load64(Addr a) { return *static_cast<const std::uint64_t*>(ptr(a)); }
  void store64(Addr a, std::uint64_t v) { *static_cast<std::uint64_t*>(ptr(a)) = v; }
  void read(Addr a, void* out, std::uint64_t n) { std::memcpy(out, ptr(a), n); }
  void write(Addr a, const void* in, std::uint64_t n) { std::memcpy(ptr(a), in, n); }
  void zero(Addr a, std::uint64_t n) { std::memset(ptr(a), 0, n); }
  void copy(Addr dst, Addr src, std::uint64_t n) { std::memcpy(ptr(dst), ptr(src), n); }
  // The process's own system memory, a task's as fork gives it (the simulator's break); a task's
  // own slice is task_sys_alloc's.
  Addr sys_alloc(std::uint64_t n) { return addr(pprsim_native_sys_alloc_shared(n)); }
  void sys_free(Addr a, std::uint64_t n) { pprsim_native_sys_free(ptr(a), n); }
  // As the simulator's: a new region, the bytes copied, the old one released.
  Addr sys_grow(Addr a, std::uint64_t n, std::uint64_t v) {
    const Addr r = pprsim_native_task() >= 0 ? task_sys_alloc(v) : sys_alloc(v);  // as the simulator's
    if (r == 0) return 0;
    copy(r, a, n);
    sys_free(a, n);
    return r;
  }
  Addr task_sys_alloc(std::uint64_t n) { return pprsim_native_task() >= 0 ? addr(pprsim_native_sys_alloc(n)) : 0; }
  void sys_idle(Addr a, std::uint64_t n) { zero(a, n); }
};
static_assert(Memory<PortMemory>);

}  // namespace pprsim::port
