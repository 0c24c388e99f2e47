// The native recording runtime (native/engine/record_runtime.h): its log against a byte model
// for scripted and random accesses through the hooks, and, with a small C allocator compiled
// with -fsanitize=thread (fixtures/tiny_alloc.c), rollback, re-apply, determinism, silence
// outside the tracked ranges, and the conflict of two tasks that pop the same free-list head.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "native/engine/record_runtime.h"
#include "props/tests/native/fixtures/tiny_alloc.h"

// The instrumentation's entry points, called directly to script exact accesses.
extern "C" {
void __tsan_read1(void*);
void __tsan_read2(void*);
void __tsan_read4(void*);
void __tsan_read8(void*);
void __tsan_read16(void*);
void __tsan_write1(void*);
void __tsan_write2(void*);
void __tsan_write4(void*);
void __tsan_write8(void*);
void __tsan_write16(void*);
void __tsan_unaligned_read8(void*);
void __tsan_unaligned_write4(void*);
void __tsan_read_write4(void*);
void __tsan_read_range(void*, unsigned long);
void __tsan_write_range(void*, unsigned long);
}

namespace {

using Span = std::pair<std::uintptr_t, std::size_t>;
using Spans = std::vector<Span>;

Spans reads_of(const pprsim_rec_log& log) {
  Spans out;
  for (std::size_t i = 0; i < log.read_count; ++i) out.emplace_back(log.reads[i].addr, log.reads[i].len);
  return out;
}

Spans writes_of(const pprsim_rec_log& log) {
  Spans out;
  for (std::size_t i = 0; i < log.write_count; ++i) out.emplace_back(log.writes[i].addr, log.writes[i].len);
  return out;
}

// The runs of a per-byte flag, as the runtime reports them: sorted, coalesced.
Spans runs_of(const std::vector<bool>& flag, std::uintptr_t base) {
  Spans out;
  for (std::size_t i = 0; i < flag.size();) {
    if (!flag[i]) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < flag.size() && flag[j]) ++j;
    out.emplace_back(base + i, j - i);
    i = j;
  }
  return out;
}

// The bytes both span lists cover, as runs.
Spans overlap(const Spans& a, const Spans& b) {
  Spans out;
  for (const auto& [x, xl] : a) {
    for (const auto& [y, yl] : b) {
      const std::uintptr_t lo = std::max(x, y);
      const std::uintptr_t hi = std::min(x + xl, y + yl);
      if (lo < hi) out.emplace_back(lo, hi - lo);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Owns a log from pprsim_rec_end.
struct LogPtr {
  pprsim_rec_log* log;
  explicit LogPtr(pprsim_rec_log* l) : log(l) {}
  LogPtr(const LogPtr&) = delete;
  LogPtr& operator=(const LogPtr&) = delete;
  ~LogPtr() { pprsim_rec_log_free(log); }
  const pprsim_rec_log& operator*() const { return *log; }
};

std::vector<unsigned char> data_of(const pprsim_rec_log& log) {
  return std::vector<unsigned char>(log.data, log.data + log.data_len);
}

// A mapped buffer, tracked for as long as it lives.
class TrackedBuffer {
 public:
  explicit TrackedBuffer(std::size_t len, std::size_t skip = 0) : len_(len), skip_(skip) {
    map_ = static_cast<unsigned char*>(
        mmap(nullptr, len + 2 * skip, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ok_ = map_ != MAP_FAILED && pprsim_rec_track(begin(), begin() + len_) == PPRSIM_REC_OK;
  }
  TrackedBuffer(const TrackedBuffer&) = delete;
  TrackedBuffer& operator=(const TrackedBuffer&) = delete;
  ~TrackedBuffer() {
    if (pprsim_rec_recording() != 0) pprsim_rec_log_free(pprsim_rec_end());
    if (ok_) pprsim_rec_untrack(begin(), begin() + len_);
    if (map_ != MAP_FAILED) munmap(map_, len_ + 2 * skip_);
  }
  bool ok() const { return ok_; }
  // The tracked bytes; `skip` untracked bytes lie on each side of them.
  unsigned char* begin() const { return map_ + skip_; }
  std::uintptr_t base() const { return reinterpret_cast<std::uintptr_t>(begin()); }
  std::size_t size() const { return len_; }

 private:
  unsigned char* map_;
  std::size_t len_;
  std::size_t skip_;
  bool ok_ = false;
};

// The tiny allocator on a tracked arena, its globals tracked too.
class TinyHeap {
 public:
  static constexpr std::size_t kArena = 1 << 20;
  TinyHeap() : arena_(kArena) {
    tiny_init(arena_.begin(), kArena);
    tiny_globals(&globals_lo_, &globals_hi_);
    ok_ = arena_.ok() && pprsim_rec_track(globals_lo_, globals_hi_) == PPRSIM_REC_OK;
  }
  TinyHeap(const TinyHeap&) = delete;
  TinyHeap& operator=(const TinyHeap&) = delete;
  ~TinyHeap() {
    if (pprsim_rec_recording() != 0) pprsim_rec_log_free(pprsim_rec_end());
    if (ok_) pprsim_rec_untrack(globals_lo_, globals_hi_);
  }
  bool ok() const { return ok_; }
  const TrackedBuffer& arena() const { return arena_; }
  // Every tracked byte: the arena, then the globals.
  std::vector<unsigned char> snapshot() const {
    std::vector<unsigned char> out(arena_.begin(), arena_.begin() + kArena);
    const auto* g = static_cast<const unsigned char*>(globals_lo_);
    out.insert(out.end(), g, static_cast<const unsigned char*>(globals_hi_));
    return out;
  }
  bool tracked(std::uintptr_t a, std::size_t n) const {
    const auto glo = reinterpret_cast<std::uintptr_t>(globals_lo_);
    const auto ghi = reinterpret_cast<std::uintptr_t>(globals_hi_);
    return (a >= arena_.base() && a + n <= arena_.base() + kArena) || (a >= glo && a + n <= ghi);
  }

 private:
  TrackedBuffer arena_;
  void* globals_lo_ = nullptr;
  void* globals_hi_ = nullptr;
  bool ok_ = false;
};

// A random program step against the tiny allocator; the program's own writes into its objects
// go through the recording memset, as a port's would.
struct Heap {
  std::vector<std::pair<void*, std::size_t>> live;
};

void random_step(Heap& h) {
  const int what = *rc::gen::inRange(0, 5);
  const std::size_t size = *rc::gen::oneOf(rc::gen::inRange<std::size_t>(0, 129),
                                           rc::gen::inRange<std::size_t>(1000, 5000));
  if (what <= 1 || h.live.empty()) {
    void* p = what == 1 ? tiny_calloc(1, size) : tiny_malloc(size);
    if (p == nullptr) return;
    pprsim_shim_memset(p, *rc::gen::inRange(1, 256), size);
    h.live.emplace_back(p, size);
    return;
  }
  const std::size_t i = *rc::gen::inRange<std::size_t>(0, h.live.size());
  if (what == 2) {
    void* p = tiny_realloc(h.live[i].first, size);
    if (p != nullptr || size == 0) h.live[i] = {p, size};
    if (p == nullptr) h.live.erase(h.live.begin() + static_cast<std::ptrdiff_t>(i));
    return;
  }
  tiny_free(h.live[i].first);
  h.live.erase(h.live.begin() + static_cast<std::ptrdiff_t>(i));
}

void check_log_shape(const pprsim_rec_log& log, const TinyHeap& heap) {
  std::size_t bytes = 0;
  for (const Spans& spans : {reads_of(log), writes_of(log)}) {
    for (std::size_t i = 0; i < spans.size(); ++i) {
      RC_ASSERT(spans[i].second > 0u);
      RC_ASSERT(heap.tracked(spans[i].first, spans[i].second));
      if (i > 0) RC_ASSERT(spans[i - 1].first + spans[i - 1].second < spans[i].first);
    }
  }
  for (const auto& w : writes_of(log)) bytes += w.second;
  RC_ASSERT(bytes == log.data_len);
}

}  // namespace

TEST(RecordRuntimeScript, ReadBeforeWriteIsExactlyTheReferenceModel) {
  TrackedBuffer buf(64, 4096);
  ASSERT_TRUE(buf.ok());
  unsigned char* b = buf.begin();
  const std::uintptr_t base = buf.base();
  ASSERT_EQ(pprsim_rec_begin(), PPRSIM_REC_OK);
  __tsan_read4(b + 0);              // read [0, 4)
  __tsan_write8(b + 2);             // written [2, 10)
  __tsan_read8(b + 0);              // [0, 2) already read, [2, 8) written first: nothing new
  __tsan_read2(b + 10);             // read [10, 12)
  __tsan_write1(b + 11);            // read before written stays read
  __tsan_write16(b + 16);           // written [16, 32)
  __tsan_read16(b + 16);            // nothing new
  __tsan_unaligned_read8(b + 29);   // [29, 32) written, [32, 37) read
  __tsan_unaligned_write4(b + 40);  // written [40, 44)
  __tsan_read_write4(b + 44);       // read [44, 48), then written
  __tsan_read_range(b + 50, 6);     // read [50, 56)
  __tsan_write_range(b + 54, 6);    // written [54, 60)
  __tsan_read1(b + 58);             // nothing new
  __tsan_read8(b - 4);              // straddles the start: read [0, 4) again, the rest untracked
  __tsan_write8(b + 60);            // straddles the end: written [60, 64)
  std::memset(b + 2, 0xab, 8);      // the program's own bytes, as the hooks said
  b[11] = 7;
  LogPtr log(pprsim_rec_end());
  ASSERT_NE(log.log, nullptr);
  const Spans reads{{base + 0, 4}, {base + 10, 2}, {base + 32, 5}, {base + 44, 4}, {base + 50, 6}};
  const Spans writes{{base + 2, 8}, {base + 11, 1}, {base + 16, 16}, {base + 40, 8}, {base + 54, 10}};
  EXPECT_EQ(reads_of(*log), reads);
  EXPECT_EQ(writes_of(*log), writes);
  ASSERT_EQ((*log).data_len, 8u + 1 + 16 + 8 + 10);
  EXPECT_EQ(data_of(*log)[0], 0xab);
  EXPECT_EQ(data_of(*log)[8], 7);
  // Rollback restores the bytes the program wrote after the hooks copied their pages.
  ASSERT_EQ(pprsim_rec_rollback(), PPRSIM_REC_OK);
  EXPECT_EQ(b[2], 0);
  EXPECT_EQ(b[11], 0);
  ASSERT_EQ(pprsim_rec_apply(log.log), PPRSIM_REC_OK);
  EXPECT_EQ(b[9], 0xab);
  EXPECT_EQ(b[11], 7);
}

TEST(RecordRuntimeScript, ReadRunsMergeAndPagesAreCrossed) {
  TrackedBuffer buf(3 * 4096, 0);
  ASSERT_TRUE(buf.ok());
  ASSERT_EQ(pprsim_rec_begin(), PPRSIM_REC_OK);
  __tsan_read8(buf.begin() + 4096 - 8);
  __tsan_read8(buf.begin() + 4096);      // touches the first: one run across the page boundary
  __tsan_write_range(buf.begin() + 4090, 8190);
  LogPtr log(pprsim_rec_end());
  EXPECT_EQ(reads_of(*log), (Spans{{buf.base() + 4088, 16}}));
  EXPECT_EQ(writes_of(*log), (Spans{{buf.base() + 4090, 8190}}));
}

TEST(RecordRuntimeScript, NothingIsRecordedOutsideATask) {
  TrackedBuffer buf(64, 0);
  ASSERT_TRUE(buf.ok());
  __tsan_write8(buf.begin());
  __tsan_read8(buf.begin() + 8);
  pprsim_shim_memset(buf.begin() + 16, 1, 8);
  ASSERT_EQ(pprsim_rec_begin(), PPRSIM_REC_OK);
  LogPtr log(pprsim_rec_end());
  EXPECT_EQ((*log).read_count, 0u);
  EXPECT_EQ((*log).write_count, 0u);
  EXPECT_EQ(buf.begin()[16], 1);
}

TEST(RecordRuntimeScript, CallsRefuseWhatTheStateDoesNotAllow) {
  TrackedBuffer buf(64, 0);
  ASSERT_TRUE(buf.ok());
  unsigned char other[64];
  EXPECT_EQ(pprsim_rec_track(buf.begin() + 8, buf.begin() + 100), PPRSIM_REC_EINVAL);
  EXPECT_EQ(pprsim_rec_track(other, other), PPRSIM_REC_EINVAL);
  EXPECT_EQ(pprsim_rec_untrack(other, other + 64), PPRSIM_REC_ENOTFOUND);
  EXPECT_EQ(pprsim_rec_end(), nullptr);
  ASSERT_EQ(pprsim_rec_begin(), PPRSIM_REC_OK);
  EXPECT_EQ(pprsim_rec_begin(), PPRSIM_REC_EBUSY);
  EXPECT_EQ(pprsim_rec_track(other, other + 64), PPRSIM_REC_EBUSY);
  EXPECT_EQ(pprsim_rec_untrack(buf.begin(), buf.begin() + 64), PPRSIM_REC_EBUSY);
  EXPECT_EQ(pprsim_rec_apply(nullptr), PPRSIM_REC_EBUSY);
  LogPtr log(pprsim_rec_end());
  EXPECT_EQ(pprsim_rec_rollback(), PPRSIM_REC_OK);
  EXPECT_EQ(pprsim_rec_rollback(), PPRSIM_REC_ENOTASK);
}

// pprsim_rec_trim gives the bookkeeping's pages back between tasks (the native worker does it
// before every fork): refused while a task records, and the next task records as if nothing
// had happened (its reads before writes, its writes, its rollback).
TEST(RecordRuntimeScript, ATrimBetweenTasksChangesNothingTheNextTaskRecords) {
  TrackedBuffer buf(2 * 4096, 0);
  ASSERT_TRUE(buf.ok());
  unsigned char* b = buf.begin();
  ASSERT_EQ(pprsim_rec_begin(), PPRSIM_REC_OK);
  __tsan_write8(b + 4096);
  b[4096] = 1;
  EXPECT_EQ(pprsim_rec_trim(), PPRSIM_REC_EBUSY);
  LogPtr first(pprsim_rec_end());
  ASSERT_EQ(pprsim_rec_trim(), PPRSIM_REC_OK);
  ASSERT_EQ(pprsim_rec_trim(), PPRSIM_REC_OK) << "nothing touched since: nothing to do";
  ASSERT_EQ(pprsim_rec_begin(), PPRSIM_REC_OK);
  __tsan_read8(b + 4096);  // written by the last task, read first by this one
  __tsan_write8(b + 8);
  b[8] = 2;
  LogPtr second(pprsim_rec_end());
  EXPECT_EQ(reads_of(*second), (Spans{{buf.base() + 4096, 8}}));
  EXPECT_EQ(writes_of(*second), (Spans{{buf.base() + 8, 8}}));
  ASSERT_EQ(pprsim_rec_rollback(), PPRSIM_REC_OK);
  EXPECT_EQ(b[8], 0);
  EXPECT_EQ(b[4096], 1);
}

// Random accesses of every hook size and of ranges against a byte model of read-before-write.
RC_GTEST_PROP(RecordRuntime, LogIsTheByteModelForRandomAccesses, ()) {
  constexpr std::size_t kLen = 2 * 4096 + 100;
  TrackedBuffer buf(kLen, 64);
  RC_ASSERT(buf.ok());
  std::vector<bool> read(kLen, false);
  std::vector<bool> written(kLen, false);
  RC_ASSERT(pprsim_rec_begin() == PPRSIM_REC_OK);
  const int steps = *rc::gen::inRange(1, 200);
  for (int s = 0; s < steps; ++s) {
    const std::size_t n = *rc::gen::element<std::size_t>(1, 2, 4, 8, 16, 40, 5000);
    // Starts up to 20 bytes before the range and ends up to 20 after: edges are clipped.
    const auto off = *rc::gen::inRange<std::ptrdiff_t>(-20, static_cast<std::ptrdiff_t>(kLen - n) + 20);
    const bool write = *rc::gen::arbitrary<bool>();
    unsigned char* p = buf.begin() + off;
    if (n == 1) write ? __tsan_write1(p) : __tsan_read1(p);
    if (n == 2) write ? __tsan_write2(p) : __tsan_read2(p);
    if (n == 4) write ? __tsan_write4(p) : __tsan_read4(p);
    if (n == 8) write ? __tsan_write8(p) : __tsan_read8(p);
    if (n == 16) write ? __tsan_write16(p) : __tsan_read16(p);
    if (n > 16) write ? __tsan_write_range(p, n) : __tsan_read_range(p, n);
    for (std::ptrdiff_t i = std::max<std::ptrdiff_t>(off, 0);
         i < std::min<std::ptrdiff_t>(off + static_cast<std::ptrdiff_t>(n), kLen); ++i) {
      const auto u = static_cast<std::size_t>(i);
      if (write) {
        written[u] = true;
      } else if (!written[u]) {
        read[u] = true;
      }
    }
  }
  LogPtr log(pprsim_rec_end());
  RC_ASSERT(reads_of(*log) == runs_of(read, buf.base()));
  RC_ASSERT(writes_of(*log) == runs_of(written, buf.base()));
}

namespace {

// One step of a task's program, generated before the task runs so that it can run twice.
struct Step {
  int what;          // 0 malloc, 1 calloc, 2 realloc, 3 free
  std::size_t size;  // bytes
  std::size_t pick;  // which live object, modulo their number
};

void run_steps(Heap& h, const std::vector<Step>& steps) {
  int fill = 0;
  for (const Step& s : steps) {
    ++fill;
    if (s.what >= 2 && !h.live.empty()) {
      const std::size_t k = s.pick % h.live.size();
      if (s.what == 3) {
        tiny_free(h.live[k].first);
        h.live.erase(h.live.begin() + static_cast<std::ptrdiff_t>(k));
      } else if (void* p = tiny_realloc(h.live[k].first, s.size + 1); p != nullptr) {
        h.live[k] = {p, s.size + 1};
      }
      continue;
    }
    void* p = s.what == 1 ? tiny_calloc(1, s.size) : tiny_malloc(s.size);
    if (p == nullptr) continue;
    pprsim_shim_memset(p, fill, s.size);
    h.live.emplace_back(p, s.size);
  }
}

}  // namespace

// Random malloc, calloc, realloc and free in a task: rollback gives back every tracked byte,
// apply gives the end of the task, and running the task again gives the same log.
RC_GTEST_PROP(RecordRuntime, RollbackRestoresAndApplyReplaysTheTask, ()) {
  TinyHeap heap;
  RC_ASSERT(heap.ok());
  Heap h;
  const int warm = *rc::gen::inRange(0, 60);
  for (int i = 0; i < warm; ++i) random_step(h);
  std::vector<Step> steps(static_cast<std::size_t>(*rc::gen::inRange(1, 60)));
  for (Step& s : steps) {
    s.what = *rc::gen::inRange(0, 4);
    s.size = *rc::gen::oneOf(rc::gen::inRange<std::size_t>(0, 129), rc::gen::inRange<std::size_t>(1000, 5000));
    s.pick = *rc::gen::inRange<std::size_t>(0, 100);
  }
  const std::vector<unsigned char> before = heap.snapshot();
  const Heap h_before = h;

  RC_ASSERT(pprsim_rec_begin() == PPRSIM_REC_OK);
  run_steps(h, steps);
  LogPtr first(pprsim_rec_end());
  RC_ASSERT(first.log != nullptr);
  check_log_shape(*first, heap);
  const std::vector<unsigned char> after = heap.snapshot();
  RC_ASSERT(pprsim_rec_rollback() == PPRSIM_REC_OK);
  RC_ASSERT(heap.snapshot() == before);
  RC_ASSERT(pprsim_rec_apply(first.log) == PPRSIM_REC_OK);
  RC_ASSERT(heap.snapshot() == after);

  // The task again from the same start: the same log, byte for byte.
  RC_ASSERT(pprsim_rec_begin() == PPRSIM_REC_OK);
  pprsim_rec_log_free(pprsim_rec_end());
  RC_ASSERT(pprsim_rec_rollback() == PPRSIM_REC_OK);  // nothing written: keeps the applied state
  h = h_before;
  std::memcpy(heap.arena().begin(), before.data(), TinyHeap::kArena);
  void* glo = nullptr;
  void* ghi = nullptr;
  tiny_globals(&glo, &ghi);
  std::memcpy(glo, before.data() + TinyHeap::kArena, before.size() - TinyHeap::kArena);
  RC_ASSERT(pprsim_rec_begin() == PPRSIM_REC_OK);
  run_steps(h, steps);
  LogPtr second(pprsim_rec_end());
  RC_ASSERT(reads_of(*second) == reads_of(*first));
  RC_ASSERT(writes_of(*second) == writes_of(*first));
  RC_ASSERT(data_of(*second) == data_of(*first));
}

TEST(RecordRuntimeTiny, AccessesOutsideTrackedRangesLeaveNoTrace) {
  TinyHeap heap;
  ASSERT_TRUE(heap.ok());
  unsigned char stack_bytes[64] = {};
  std::vector<unsigned char> heap_bytes(64, 1);
  ASSERT_EQ(pprsim_rec_begin(), PPRSIM_REC_OK);
  __tsan_write8(stack_bytes);
  __tsan_read16(heap_bytes.data());
  __tsan_write_range(heap_bytes.data(), 64);
  pprsim_shim_memcpy(stack_bytes, heap_bytes.data(), 64);
  pprsim_shim_memmove(heap_bytes.data() + 1, heap_bytes.data(), 32);
  LogPtr quiet(pprsim_rec_end());
  EXPECT_EQ((*quiet).read_count, 0u);
  EXPECT_EQ((*quiet).write_count, 0u);
  // The allocator's own accesses stay inside the arena and its globals.
  ASSERT_EQ(pprsim_rec_begin(), PPRSIM_REC_OK);
  void* p = tiny_malloc(100);
  void* q = tiny_realloc(p, 3000);
  tiny_free(q);
  LogPtr log(pprsim_rec_end());
  EXPECT_GT((*log).write_count, 0u);
  for (const auto& s : reads_of(*log)) EXPECT_TRUE(heap.tracked(s.first, s.second));
  for (const auto& s : writes_of(*log)) EXPECT_TRUE(heap.tracked(s.first, s.second));
}

TEST(RecordRuntimeTiny, TwoTasksPoppingTheSameHeadOverlapOnTheHeadWord) {
  TinyHeap heap;
  ASSERT_TRUE(heap.ok());
  tiny_free(tiny_malloc(32));  // the 32-byte list now holds one block
  const auto head = reinterpret_cast<std::uintptr_t>(tiny_list_head(32));
  ASSERT_EQ(pprsim_rec_begin(), PPRSIM_REC_OK);
  void* first = tiny_malloc(32);
  LogPtr one(pprsim_rec_end());
  ASSERT_EQ(pprsim_rec_rollback(), PPRSIM_REC_OK);
  ASSERT_EQ(pprsim_rec_begin(), PPRSIM_REC_OK);
  void* second = tiny_malloc(32);
  LogPtr two(pprsim_rec_end());
  ASSERT_EQ(pprsim_rec_rollback(), PPRSIM_REC_OK);
  EXPECT_EQ(first, second);
  // The second task read the head the first one wrote: the check aborts it.
  EXPECT_EQ(overlap(reads_of(*two), writes_of(*one)), (Spans{{head, sizeof(void*)}}));
  EXPECT_EQ(overlap(reads_of(*one), writes_of(*two)), (Spans{{head, sizeof(void*)}}));
}

// The build renamed the instrumented object's memory calls to the shims: nothing it calls
// escapes the log but the hooks themselves.
TEST(RecordRuntimeBuild, InstrumentedObjectCallsOnlyHooksAndShims) {
  const std::string command = std::string("nm -u ") + PPRSIM_TINY_RECORDED_OBJECT + " 2>/dev/null";
  FILE* nm = popen(command.c_str(), "r");
  ASSERT_NE(nm, nullptr);
  std::vector<std::string> undefined;
  char line[512];
  while (std::fgets(line, sizeof line, nm) != nullptr) {
    std::string name(line);
    name.erase(0, name.find_last_of(' ') + 1);
    if (!name.empty() && name.back() == '\n') name.pop_back();
    undefined.push_back(name);
  }
  if (pclose(nm) != 0 || undefined.empty()) GTEST_SKIP() << "nm did not run";
  for (const std::string& name : undefined) {
    EXPECT_TRUE(name.rfind("__tsan_", 0) == 0 || name.rfind("pprsim_shim_", 0) == 0) << name;
  }
  EXPECT_NE(std::find(undefined.begin(), undefined.end(), "pprsim_shim_memcpy"), undefined.end());
  EXPECT_NE(std::find(undefined.begin(), undefined.end(), "__tsan_write8"), undefined.end());
}
