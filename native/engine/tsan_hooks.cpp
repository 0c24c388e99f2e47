// The entry points that -fsanitize=thread instrumentation calls, defined here in place of the
// thread sanitizer's runtime, and the recording memory shims (record_runtime.h).
//
// What GCC 12 and clang 14 emit at -O2 for C (nm -u on an instrumented object): the aligned
// __tsan_read/write 1, 2, 4, 8, 16; clang also the unaligned ones for packed fields, and with
// -mllvm -tsan-compound-read-before-write the __tsan_read_write and __tsan_unaligned_read_write
// ones for a load followed by a store to the same place; GCC __tsan_read_range and
// __tsan_write_range for struct copies; both __tsan_func_entry, __tsan_func_exit and __tsan_init.
// The volatile variants (with -tsan-distinguish-volatile) and the vtable-pointer ones of C++ are
// defined too, as the plain accesses they are.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "native/engine/record_state.h"

using pprsim::rec::record_small;

#define PPRSIM_HOOK __attribute__((visibility("default"))) void

// One hook per access size; read_write records the read first, as the access happens.
#define PPRSIM_SIZED_HOOKS(prefix, n)                                                          \
  PPRSIM_HOOK prefix##read##n(void* p) { record_small<n, false>(p); }                          \
  PPRSIM_HOOK prefix##write##n(void* p) { record_small<n, true>(p); }                          \
  PPRSIM_HOOK prefix##read_write##n(void* p) {                                                 \
    record_small<n, false>(p);                                                                 \
    record_small<n, true>(p);                                                                  \
  }

#define PPRSIM_VOLATILE_HOOKS(prefix, n)                                                       \
  PPRSIM_HOOK prefix##volatile_read##n(void* p) { record_small<n, false>(p); }                 \
  PPRSIM_HOOK prefix##volatile_write##n(void* p) { record_small<n, true>(p); }

extern "C" {

PPRSIM_SIZED_HOOKS(__tsan_, 1)
PPRSIM_SIZED_HOOKS(__tsan_, 2)
PPRSIM_SIZED_HOOKS(__tsan_, 4)
PPRSIM_SIZED_HOOKS(__tsan_, 8)
PPRSIM_SIZED_HOOKS(__tsan_, 16)
PPRSIM_SIZED_HOOKS(__tsan_unaligned_, 2)
PPRSIM_SIZED_HOOKS(__tsan_unaligned_, 4)
PPRSIM_SIZED_HOOKS(__tsan_unaligned_, 8)
PPRSIM_SIZED_HOOKS(__tsan_unaligned_, 16)
PPRSIM_VOLATILE_HOOKS(__tsan_, 1)
PPRSIM_VOLATILE_HOOKS(__tsan_, 2)
PPRSIM_VOLATILE_HOOKS(__tsan_, 4)
PPRSIM_VOLATILE_HOOKS(__tsan_, 8)
PPRSIM_VOLATILE_HOOKS(__tsan_, 16)
PPRSIM_VOLATILE_HOOKS(__tsan_unaligned_, 2)
PPRSIM_VOLATILE_HOOKS(__tsan_unaligned_, 4)
PPRSIM_VOLATILE_HOOKS(__tsan_unaligned_, 8)
PPRSIM_VOLATILE_HOOKS(__tsan_unaligned_, 16)

PPRSIM_HOOK __tsan_read_range(void* p, unsigned long n) {
  if (pprsim::rec::any_active()) pprsim::rec::record_span(reinterpret_cast<std::uintptr_t>(p), n, false);
}
PPRSIM_HOOK __tsan_write_range(void* p, unsigned long n) {
  if (pprsim::rec::any_active()) pprsim::rec::record_span(reinterpret_cast<std::uintptr_t>(p), n, true);
}

// A C++ object's vtable pointer, read for a virtual call and written by its constructor.
PPRSIM_HOOK __tsan_vptr_read(void** p) { record_small<sizeof(void*), false>(p); }
PPRSIM_HOOK __tsan_vptr_update(void** p, void* /*new_value*/) {
  record_small<sizeof(void*), true>(p);
}

// Calls and returns do not matter to the log; the sanitizer's initialiser has nothing to do.
PPRSIM_HOOK __tsan_func_entry(void* /*caller*/) {}
PPRSIM_HOOK __tsan_func_exit(void) {}
PPRSIM_HOOK __tsan_init(void) {}

__attribute__((visibility("default"))) void* pprsim_shim_memcpy(void* dst, const void* src,
                                                                std::size_t n) {
  if (pprsim::rec::any_active()) {
    pprsim::rec::record_span(reinterpret_cast<std::uintptr_t>(src), n, false);
    pprsim::rec::record_span(reinterpret_cast<std::uintptr_t>(dst), n, true);
  }
  return n == 0 ? dst : std::memcpy(dst, src, n);
}

__attribute__((visibility("default"))) void* pprsim_shim_memmove(void* dst, const void* src,
                                                                 std::size_t n) {
  if (pprsim::rec::any_active()) {
    pprsim::rec::record_span(reinterpret_cast<std::uintptr_t>(src), n, false);
    pprsim::rec::record_span(reinterpret_cast<std::uintptr_t>(dst), n, true);
  }
  return n == 0 ? dst : std::memmove(dst, src, n);
}

__attribute__((visibility("default"))) void* pprsim_shim_memset(void* dst, int c, std::size_t n) {
  if (pprsim::rec::any_active()) pprsim::rec::record_span(reinterpret_cast<std::uintptr_t>(dst), n, true);
  return n == 0 ? dst : std::memset(dst, c, n);
}

// Newer compilers may call these in place of memcpy, memmove and memset: the same shims.
__attribute__((visibility("default"))) void* __tsan_memcpy(void* dst, const void* src, std::size_t n) {
  return pprsim_shim_memcpy(dst, src, n);
}
__attribute__((visibility("default"))) void* __tsan_memmove(void* dst, const void* src, std::size_t n) {
  return pprsim_shim_memmove(dst, src, n);
}
__attribute__((visibility("default"))) void* __tsan_memset(void* dst, int c, std::size_t n) {
  return pprsim_shim_memset(dst, c, n);
}

}  // extern "C"
