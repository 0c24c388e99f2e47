// The recording runtime's state and its hot path: what a hook does with one access. Shared by
// the hooks (tsan_hooks.cpp) and the task calls (record_runtime.cpp); nothing here is part of
// the C API of record_runtime.h.
//
// Per tracked byte a shadow byte holds two bits: kRead (the task read it while it had not written
// it) and kWritten. Per tracked page a state byte holds kTouched (the page is in the task's list
// of pages to scan at end) and kSaved (its old bytes are in the undo copy). Pages are counted
// from the range's start rounded down to a page, and clipped to the range, so an undo copy never
// covers a byte outside the range.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "native/engine/record_runtime.h"

namespace pprsim::rec {

constexpr std::uintptr_t kPageSize = 4096;
constexpr std::uint8_t kRead = 1;
constexpr std::uint8_t kWritten = 2;
constexpr std::uint8_t kTouched = 1;
constexpr std::uint8_t kSaved = 2;
// The widest single access a hook reports (__tsan_read16): the fast range test accepts an access
// that starts up to this many bytes before a range, and the slow path clips it.
constexpr std::uintptr_t kWidestHook = 16;

// A growable array of plain values over malloc, with no exceptions: the hooks run inside C code
// that cannot unwind, so running out of memory there ends the process with a message.
template <typename T>
class Buffer {
 public:
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { std::free(data_); }
  void push(const T& v) {
    if (size_ == cap_) grow(size_ + 1);
    data_[size_++] = v;
  }
  // Room for n more values at the end, returned uninitialised.
  T* extend(std::size_t n) {
    if (size_ + n > cap_) grow(size_ + n);
    T* at = data_ + size_;
    size_ += n;
    return at;
  }
  void clear() { size_ = 0; }
  std::size_t size() const { return size_; }
  T* data() { return data_; }
  const T* data() const { return data_; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  T& back() { return data_[size_ - 1]; }

 private:
  void grow(std::size_t need);
  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t cap_ = 0;
};

// Ends the process: the runtime cannot record without memory, and must not throw.
[[noreturn]] void out_of_memory();

template <typename T>
void Buffer<T>::grow(std::size_t need) {
  std::size_t cap = cap_ == 0 ? 64 : cap_ * 2;
  while (cap < need) cap *= 2;
  void* p = std::realloc(data_, cap * sizeof(T));
  if (p == nullptr) out_of_memory();
  data_ = static_cast<T*>(p);
  cap_ = cap;
}

struct Range {
  std::uintptr_t lo = 0;
  std::uintptr_t len = 0;
  // The fast test for hooks of up to kWidestHook bytes: addr - near_lo < near_len.
  std::uintptr_t near_lo = 0;
  std::uintptr_t near_len = 0;
  std::uintptr_t page_base = 0;  // lo rounded down to a page
  std::uint8_t* shadow = nullptr;      // one byte per tracked byte, shadow[addr - lo]
  std::uint8_t* page_state = nullptr;  // one byte per page from page_base
  std::size_t shadow_map_len = 0;
  std::size_t page_map_len = 0;
};

struct TouchedPage {
  std::uint32_t range;
  std::uint32_t page;
};

// One page's bytes before the task's first write to it: [addr, addr + len) at undo[offset].
struct SavedPage {
  std::uintptr_t addr;
  std::size_t len;
  std::size_t offset;
};

struct State {
  // The ranges the hooks look at: all tracked ones while a task records, none otherwise, so that
  // outside a task a hook costs one load and one comparison.
  std::uint32_t active = 0;
  std::uint32_t count = 0;
  Range ranges[PPRSIM_REC_MAX_RANGES];  // sorted by address
  bool recording = false;
  bool can_roll_back = false;
  Buffer<TouchedPage> touched;
  Buffer<SavedPage> saved;
  Buffer<unsigned char> undo;
};

extern State g_state;

// Whether a task records and there is a range to record into.
inline bool any_active() { return g_state.active != 0; }

// The page of `r` that holds `addr`, clipped to the range: [first, last).
inline void page_bounds(const Range& r, std::uintptr_t page, std::uintptr_t* first,
                        std::uintptr_t* last) {
  const std::uintptr_t start = r.page_base + page * kPageSize;
  *first = start < r.lo ? r.lo : start;
  const std::uintptr_t end = start + kPageSize;
  *last = end > r.lo + r.len ? r.lo + r.len : end;
}

inline void touch_page(std::uint32_t ri, std::uintptr_t page) {
  std::uint8_t& s = g_state.ranges[ri].page_state[page];
  if ((s & kTouched) == 0) {
    s |= kTouched;
    g_state.touched.push(TouchedPage{ri, static_cast<std::uint32_t>(page)});
  }
}

inline void save_page(std::uint32_t ri, std::uintptr_t page) {
  const Range& r = g_state.ranges[ri];
  std::uint8_t& s = r.page_state[page];
  if ((s & kSaved) != 0) return;
  touch_page(ri, page);
  s |= kSaved;
  std::uintptr_t first = 0;
  std::uintptr_t last = 0;
  page_bounds(r, page, &first, &last);
  const std::size_t offset = g_state.undo.size();
  std::memcpy(g_state.undo.extend(last - first), reinterpret_cast<const void*>(first), last - first);
  g_state.saved.push(SavedPage{first, last - first, offset});
}

// Records a read of [addr, addr + n), which lies inside range ri.
inline void record_read_in(std::uint32_t ri, std::uintptr_t addr, std::size_t n) {
  const Range& r = g_state.ranges[ri];
  const std::uintptr_t off = addr - r.lo;
  const std::uintptr_t p0 = (addr - r.page_base) / kPageSize;
  const std::uintptr_t p1 = (addr + n - 1 - r.page_base) / kPageSize;
  for (std::uintptr_t p = p0; p <= p1; ++p) touch_page(ri, p);
  std::uint8_t* sh = r.shadow + off;
  // A byte counts as read before written only if the task has not written it yet.
  for (std::size_t i = 0; i < n; ++i) sh[i] = static_cast<std::uint8_t>(sh[i] | ((~sh[i] >> 1) & kRead));
}

// Records a write of [addr, addr + n), which lies inside range ri; copies each page first.
inline void record_write_in(std::uint32_t ri, std::uintptr_t addr, std::size_t n) {
  const Range& r = g_state.ranges[ri];
  const std::uintptr_t off = addr - r.lo;
  const std::uintptr_t p0 = (addr - r.page_base) / kPageSize;
  const std::uintptr_t p1 = (addr + n - 1 - r.page_base) / kPageSize;
  for (std::uintptr_t p = p0; p <= p1; ++p) save_page(ri, p);
  std::uint8_t* sh = r.shadow + off;
  for (std::size_t i = 0; i < n; ++i) sh[i] |= kWritten;
}

// Any access: the parts of [addr, addr + n) inside tracked ranges, each recorded.
void record_span(std::uintptr_t addr, std::size_t n, bool write);

// The hooks' path for an access of at most kWidestHook bytes.
template <std::size_t N, bool Write>
inline void record_small(const void* p) {
  const auto addr = reinterpret_cast<std::uintptr_t>(p);
  for (std::uint32_t i = 0; i < g_state.active; ++i) {
    const Range& r = g_state.ranges[i];
    if (addr - r.near_lo < r.near_len) {
      if (addr >= r.lo && addr - r.lo + N <= r.len) {
        if constexpr (Write) {
          record_write_in(i, addr, N);
        } else {
          record_read_in(i, addr, N);
        }
      } else {
        record_span(addr, N, Write);  // straddles a range's edge
      }
      return;
    }
  }
}

}  // namespace pprsim::rec
