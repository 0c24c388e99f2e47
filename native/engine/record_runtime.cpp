// The task calls of the recording runtime (record_runtime.h): tracking ranges, begin, end with
// its log, rollback and apply. The hooks themselves are in tsan_hooks.cpp.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "native/engine/record_state.h"

namespace pprsim::rec {

State g_state;

void out_of_memory() {
  static const char kMessage[] = "pprsim record runtime: out of memory while recording\n";
  // write(2), not stdio: this may run inside the allocator, where malloc is not to be called.
  const ssize_t ignored = write(2, kMessage, sizeof kMessage - 1);
  (void)ignored;
  std::abort();
}

void record_span(std::uintptr_t addr, std::size_t n, bool write) {
  if (n == 0) return;
  const std::uintptr_t end = addr + n < addr ? UINTPTR_MAX : addr + n;
  for (std::uint32_t i = 0; i < g_state.active; ++i) {
    const Range& r = g_state.ranges[i];
    const std::uintptr_t lo = std::max(addr, r.lo);
    const std::uintptr_t hi = std::min(end, r.lo + r.len);
    if (lo >= hi) continue;
    if (write) {
      record_write_in(i, lo, hi - lo);
    } else {
      record_read_in(i, lo, hi - lo);
    }
  }
}

namespace {

void* map_zeroed(std::size_t len) {
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

std::size_t round_to_page(std::size_t n) { return (n + kPageSize - 1) & ~(kPageSize - 1); }

void release(Range& r) {
  if (r.shadow != nullptr) munmap(r.shadow, r.shadow_map_len);
  if (r.page_slot != nullptr) munmap(r.page_slot, r.slot_map_len);
  r = Range{};
}

// Appends [addr, addr + len) to `runs`, merged with the last run when they touch.
void append_run(Buffer<pprsim_rec_span>& runs, std::uintptr_t addr, std::size_t len) {
  if (runs.size() > 0 && runs.back().addr + runs.back().len == addr) {
    runs.back().len += len;
  } else {
    runs.push(pprsim_rec_span{addr, len});
  }
}

// The read and written runs of [first, last) of range r, appended in address order. A shadow
// word with no bit set is skipped whole: most of a line is often untouched.
void collect_runs(const Range& r, std::uintptr_t first, std::uintptr_t last,
                  Buffer<pprsim_rec_span>& reads, Buffer<pprsim_rec_span>& writes) {
  for (std::uintptr_t a = first; a < last;) {
    std::uint64_t word = 0;
    if (a + 8 <= last && (std::memcpy(&word, r.shadow + (a - r.lo), 8), word == 0)) {
      a += 8;
      continue;
    }
    const std::uintptr_t stop = std::min(last, a + 8);
    if (stop == a + 8 && word == (word & 0xff) * 0x0101010101010101u) {
      // Eight bytes alike, as a word access leaves them.
      if ((word & kRead) != 0) append_run(reads, a, 8);
      if ((word & kWritten) != 0) append_run(writes, a, 8);
      a = stop;
      continue;
    }
    for (; a < stop; ++a) {
      const std::uint8_t s = r.shadow[a - r.lo];
      if ((s & kRead) != 0) append_run(reads, a, 1);
      if ((s & kWritten) != 0) append_run(writes, a, 1);
    }
  }
}

// Scratch space of end(), kept between tasks so that a task's end does not allocate for it.
Buffer<pprsim_rec_span> g_reads;
Buffer<pprsim_rec_span> g_writes;

// Scans the task's touched pages in address order into g_reads and g_writes, and clears their
// shadow and page slots for the next task.
void scan_touched() {
  TouchedPage* t = g_state.touched.data();
  std::sort(t, t + g_state.touched.size(), [](const TouchedPage& a, const TouchedPage& b) {
    return a.range != b.range ? a.range < b.range : a.page < b.page;
  });
  g_reads.clear();
  g_writes.clear();
  for (std::size_t i = 0; i < g_state.touched.size(); ++i) {
    const Range& r = g_state.ranges[t[i].range];
    const std::uintptr_t page = r.page_base + std::uintptr_t{t[i].page} * kPageSize;
    for (std::uint64_t lines = t[i].lines; lines != 0; lines &= lines - 1) {
      const std::uintptr_t line = page + static_cast<std::uintptr_t>(__builtin_ctzll(lines)) * kLineSize;
      // The line clipped to the range: only the first and last lines of a range stick out.
      const std::uintptr_t first = std::max(line, r.lo);
      const std::uintptr_t last = std::min(line + kLineSize, r.lo + r.len);
      collect_runs(r, first, last, g_reads, g_writes);
      std::memset(r.shadow + (first - r.lo), 0, last - first);
    }
    r.page_slot[t[i].page] = 0;
  }
  if (g_state.touched.size() > 0) g_state.shadow_touched = true;
  g_state.touched.clear();
}

// One malloc block: the log, then its read spans, its write spans and the written bytes.
pprsim_rec_log* build_log() {
  const std::size_t nr = g_reads.size();
  const std::size_t nw = g_writes.size();
  std::size_t data_len = 0;
  for (std::size_t i = 0; i < nw; ++i) data_len += g_writes[i].len;
  const std::size_t spans = (nr + nw) * sizeof(pprsim_rec_span);
  auto* block = static_cast<unsigned char*>(std::malloc(sizeof(pprsim_rec_log) + spans + data_len));
  if (block == nullptr) return nullptr;
  auto* log = reinterpret_cast<pprsim_rec_log*>(block);
  auto* reads = reinterpret_cast<pprsim_rec_span*>(block + sizeof(pprsim_rec_log));
  pprsim_rec_span* writes = reads + nr;
  unsigned char* data = block + sizeof(pprsim_rec_log) + spans;
  if (nr > 0) std::memcpy(reads, g_reads.data(), nr * sizeof(pprsim_rec_span));
  if (nw > 0) std::memcpy(writes, g_writes.data(), nw * sizeof(pprsim_rec_span));
  std::size_t at = 0;
  for (std::size_t i = 0; i < nw; ++i) {
    std::memcpy(data + at, reinterpret_cast<const void*>(writes[i].addr), writes[i].len);
    at += writes[i].len;
  }
  *log = pprsim_rec_log{reads, nr, writes, nw, data, data_len};
  return log;
}

void drop_undo() {
  g_state.saved.clear();
  g_state.undo.clear();
  g_state.can_roll_back = false;
}

}  // namespace
}  // namespace pprsim::rec

using pprsim::rec::g_state;

extern "C" {

int pprsim_rec_track(const void* lo, const void* hi) {
  using namespace pprsim::rec;
  const auto a = reinterpret_cast<std::uintptr_t>(lo);
  const auto b = reinterpret_cast<std::uintptr_t>(hi);
  if (g_state.recording) return PPRSIM_REC_EBUSY;
  if (b <= a) return PPRSIM_REC_EINVAL;
  if (g_state.count == PPRSIM_REC_MAX_RANGES) return PPRSIM_REC_EFULL;
  std::uint32_t at = 0;
  for (std::uint32_t i = 0; i < g_state.count; ++i) {
    const Range& r = g_state.ranges[i];
    if (a < r.lo + r.len && r.lo < b) return PPRSIM_REC_EINVAL;
    if (r.lo < a) at = i + 1;
  }
  Range r;
  r.lo = a;
  r.len = b - a;
  r.near_lo = a >= kWidestHook - 1 ? a - (kWidestHook - 1) : 0;
  r.near_len = b - r.near_lo;
  r.page_base = a & ~(kPageSize - 1);
  r.shadow_map_len = round_to_page(r.len);
  r.slot_map_len = round_to_page((b - r.page_base + kPageSize - 1) / kPageSize * sizeof(std::uint32_t));
  r.shadow = static_cast<std::uint8_t*>(map_zeroed(r.shadow_map_len));
  r.page_slot = static_cast<std::uint32_t*>(map_zeroed(r.slot_map_len));
  if (r.shadow == nullptr || r.page_slot == nullptr) {
    release(r);
    return PPRSIM_REC_ENOMEM;
  }
  std::copy_backward(g_state.ranges + at, g_state.ranges + g_state.count,
                     g_state.ranges + g_state.count + 1);
  g_state.ranges[at] = r;
  ++g_state.count;
  return PPRSIM_REC_OK;
}

int pprsim_rec_untrack(const void* lo, const void* hi) {
  using namespace pprsim::rec;
  const auto a = reinterpret_cast<std::uintptr_t>(lo);
  const auto b = reinterpret_cast<std::uintptr_t>(hi);
  if (g_state.recording) return PPRSIM_REC_EBUSY;
  for (std::uint32_t i = 0; i < g_state.count; ++i) {
    Range& r = g_state.ranges[i];
    if (r.lo != a || r.lo + r.len != b) continue;
    // The last task's undo copies may lie in this range: it can no longer be rolled back.
    drop_undo();
    release(r);
    std::copy(g_state.ranges + i + 1, g_state.ranges + g_state.count, g_state.ranges + i);
    --g_state.count;
    return PPRSIM_REC_OK;
  }
  return PPRSIM_REC_ENOTFOUND;
}

int pprsim_rec_begin(void) {
  using namespace pprsim::rec;
  if (g_state.recording) return PPRSIM_REC_EBUSY;
  drop_undo();
  g_state.recording = true;
  g_state.active = g_state.count;
  return PPRSIM_REC_OK;
}

int pprsim_rec_recording(void) { return g_state.recording ? 1 : 0; }

pprsim_rec_log* pprsim_rec_end(void) {
  using namespace pprsim::rec;
  if (!g_state.recording) return nullptr;
  g_state.active = 0;
  g_state.recording = false;
  g_state.can_roll_back = true;
  scan_touched();
  return build_log();
}

int pprsim_rec_rollback(void) {
  using namespace pprsim::rec;
  if (g_state.recording) {
    g_state.active = 0;
    g_state.recording = false;
    g_state.can_roll_back = true;
    scan_touched();  // clears the shadow for the next task; the runs are not needed
  }
  if (!g_state.can_roll_back) return PPRSIM_REC_ENOTASK;
  // Newest first: where a byte was copied twice, its oldest copy is written last.
  for (std::size_t i = g_state.saved.size(); i-- > 0;) {
    const SavedBytes& s = g_state.saved[i];
    std::memcpy(reinterpret_cast<void*>(s.addr), g_state.undo.data() + s.offset, s.len);
  }
  drop_undo();
  return PPRSIM_REC_OK;
}

int pprsim_rec_apply(const pprsim_rec_log* log) {
  if (g_state.recording) return PPRSIM_REC_EBUSY;
  if (log == nullptr) return PPRSIM_REC_EINVAL;
  std::size_t at = 0;
  for (std::size_t i = 0; i < log->write_count; ++i) {
    std::memcpy(reinterpret_cast<void*>(log->writes[i].addr), log->data + at, log->writes[i].len);
    at += log->writes[i].len;
  }
  return PPRSIM_REC_OK;
}

void pprsim_rec_log_free(pprsim_rec_log* log) { std::free(log); }

int pprsim_rec_trim(void) {
  using namespace pprsim::rec;
  if (g_state.recording) return PPRSIM_REC_EBUSY;
  if (!g_state.shadow_touched) return PPRSIM_REC_OK;
  for (std::uint32_t i = 0; i < g_state.count; ++i) {
    const Range& r = g_state.ranges[i];
    madvise(r.shadow, r.shadow_map_len, MADV_DONTNEED);
    madvise(r.page_slot, r.slot_map_len, MADV_DONTNEED);
  }
  g_state.shadow_touched = false;
  return PPRSIM_REC_OK;
}

}  // extern "C"
