// The recording runtime's state and its hot path: what a hook does with one access. Shared by
// the hooks (tsan_hooks.cpp) and the task calls (record_runtime.cpp); nothing here is part of
// the C API of record_runtime.h.
//
// Per tracked byte a shadow byte holds two bits: kRead (the task read it while it had not written
// it) and kWritten. The pages the task accessed are listed with the 64-byte lines it accessed in
// each, so that end() scans only those. Before a write that reaches a byte the task had not
// written yet, the write's old bytes are copied to the undo log: a task of a few allocator calls
// writes a few words per page, and copying those costs less than copying pages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "native/engine/record_runtime.h"

namespace pprsim::rec {

constexpr std::uintptr_t kPageSize = 4096;
constexpr std::uint8_t kRead = 1;
constexpr std::uint8_t kWritten = 2;
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
  std::uint32_t* page_slot = nullptr;  // per page from page_base: 1 + its index in touched, or 0
  std::size_t shadow_map_len = 0;
  std::size_t slot_map_len = 0;
};

// A page the task accessed, and which of its 64-byte lines it accessed: end() scans only those,
// so a task that touches a word here and there pays for a line each.
constexpr std::uintptr_t kLineSize = kPageSize / 64;
struct TouchedPage {
  std::uint32_t range;
  std::uint32_t page;
  std::uint64_t lines;  // bit k: bytes [k * kLineSize, (k + 1) * kLineSize) of the page
};

// The bytes [addr, addr + len) as they were before a write, at undo[offset]. Rollback restores
// them newest first, so only the oldest copy of a byte counts and a byte may be copied twice.
struct SavedBytes {
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
  bool shadow_touched = false;  // a task touched shadow pages since the last pprsim_rec_trim
  Buffer<TouchedPage> touched;
  Buffer<SavedBytes> saved;
  Buffer<unsigned char> undo;
};

extern State g_state;

// Whether a task records and there is a range to record into.
inline bool any_active() { return g_state.active != 0; }

// Notes that [addr, addr + n), inside one page of range ri, was accessed.
inline void touch(std::uint32_t ri, std::uintptr_t addr, std::size_t n) {
  const Range& r = g_state.ranges[ri];
  const std::uintptr_t page = (addr - r.page_base) / kPageSize;
  const std::uintptr_t first = (addr % kPageSize) / kLineSize;
  const std::uintptr_t last = ((addr + n - 1) % kPageSize) / kLineSize;
  // Bits first..last; the shift by 64 is avoided when the access reaches the last line.
  const std::uint64_t upto = last == 63 ? ~std::uint64_t{0} : (std::uint64_t{2} << last) - 1;
  const std::uint64_t lines = upto & ~((std::uint64_t{1} << first) - 1);
  std::uint32_t& slot = r.page_slot[page];
  if (slot == 0) {
    g_state.touched.push(TouchedPage{ri, static_cast<std::uint32_t>(page), lines});
    slot = static_cast<std::uint32_t>(g_state.touched.size());
    return;
  }
  g_state.touched[slot - 1].lines |= lines;
}

// Notes an access of [addr, addr + n) inside range ri, page by page.
inline void touch_span(std::uint32_t ri, std::uintptr_t addr, std::size_t n) {
  while (n > 0) {
    const std::size_t room = kPageSize - (addr % kPageSize);
    const std::size_t part = n < room ? n : room;
    touch(ri, addr, part);
    addr += part;
    n -= part;
  }
}

// Copies the old bytes of [addr, addr + n) before the task writes them.
inline void save_bytes(std::uintptr_t addr, std::size_t n) {
  const std::size_t offset = g_state.undo.size();
  std::memcpy(g_state.undo.extend(n), reinterpret_cast<const void*>(addr), n);
  g_state.saved.push(SavedBytes{addr, n, offset});
}

// Records a read of [addr, addr + n), which lies inside range ri.
inline void record_read_in(std::uint32_t ri, std::uintptr_t addr, std::size_t n) {
  const Range& r = g_state.ranges[ri];
  touch_span(ri, addr, n);
  std::uint8_t* sh = r.shadow + (addr - r.lo);
  // A byte counts as read before written only if the task has not written it yet.
  for (std::size_t i = 0; i < n; ++i) sh[i] = static_cast<std::uint8_t>(sh[i] | ((~sh[i] >> 1) & kRead));
}

// Records a write of [addr, addr + n), which lies inside range ri; copies the old bytes first
// unless the task wrote all of them already.
inline void record_write_in(std::uint32_t ri, std::uintptr_t addr, std::size_t n) {
  const Range& r = g_state.ranges[ri];
  touch_span(ri, addr, n);
  std::uint8_t* sh = r.shadow + (addr - r.lo);
  std::uint8_t all = kWritten;
  for (std::size_t i = 0; i < n; ++i) {
    all &= sh[i];
    sh[i] |= kWritten;
  }
  if (all == 0) save_bytes(addr, n);
}

// Any access: the parts of [addr, addr + n) inside tracked ranges, each recorded.
void record_span(std::uintptr_t addr, std::size_t n, bool write);

// The shadow bytes of an access of N bytes (1, 2, 4, 8 or 16), updated a word at a time.
template <std::size_t N>
struct ShadowWord {
  using Word = std::conditional_t<N == 1, std::uint8_t,
               std::conditional_t<N == 2, std::uint16_t,
               std::conditional_t<N == 4, std::uint32_t, std::uint64_t>>>;
  static constexpr std::size_t kWords = N == 16 ? 2 : 1;
  static constexpr Word kEach = static_cast<Word>(static_cast<Word>(~Word{0}) / 0xff);  // 0x0101...01

  // Sets kRead on the bytes without kWritten.
  static void read(std::uint8_t* sh) {
    for (std::size_t k = 0; k < kWords; ++k) {
      Word w;
      std::memcpy(&w, sh + k * sizeof(Word), sizeof(Word));
      w = static_cast<Word>(w | ((~w >> 1) & static_cast<Word>(kEach * kRead)));
      std::memcpy(sh + k * sizeof(Word), &w, sizeof(Word));
    }
  }
  // Sets kWritten on all; true if some byte did not have it yet.
  static bool write(std::uint8_t* sh) {
    constexpr auto kAll = static_cast<Word>(kEach * kWritten);
    bool fresh = false;
    for (std::size_t k = 0; k < kWords; ++k) {
      Word w;
      std::memcpy(&w, sh + k * sizeof(Word), sizeof(Word));
      fresh = fresh || (w & kAll) != kAll;
      w = static_cast<Word>(w | kAll);
      std::memcpy(sh + k * sizeof(Word), &w, sizeof(Word));
    }
    return fresh;
  }
};

// The hooks' path for an access of at most kWidestHook bytes.
template <std::size_t N, bool Write>
inline void record_small(const void* p) {
  const auto addr = reinterpret_cast<std::uintptr_t>(p);
  for (std::uint32_t i = 0; i < g_state.active; ++i) {
    const Range& r = g_state.ranges[i];
    if (addr - r.near_lo >= r.near_len) continue;
    if (addr < r.lo || addr - r.lo + N > r.len) {
      record_span(addr, N, Write);  // straddles a range's edge
      return;
    }
    if (addr % kPageSize + N <= kPageSize) {
      touch(i, addr, N);
    } else {
      touch_span(i, addr, N);
    }
    std::uint8_t* sh = r.shadow + (addr - r.lo);
    if constexpr (Write) {
      if (ShadowWord<N>::write(sh)) save_bytes(addr, N);
    } else {
      ShadowWord<N>::read(sh);
    }
    return;
  }
}

}  // namespace pprsim::rec
