// libpprsim_dmmalloc.so: the dmmalloc core (alloc/dmmalloc.h) over real memory as a drop-in
// malloc, plus the PPR hooks of native/pprsim_dmmalloc.h.
//
// Threads: one process-wide spin lock around every call (test-and-set, then pause, then
// sched_yield). Uncontended it costs one atomic exchange and one store per call; threads that
// allocate at once serialise. Fork: pthread_atfork takes the lock before fork() and releases it
// in both processes, so a child never inherits a heap in the middle of an update.
// Start-up: the allocator lives in static storage, built on first use under the lock, with no
// constructor of its own to wait for and nothing allocated while building it. Re-entry: the
// core's own bookkeeping (the partition and deferred-free vectors of a group) allocates with
// operator new, i.e. malloc; a call made while this thread is already inside the allocator is
// served by a second, internal instance, so the library never recurses into the lock it holds.
// Exceptions: that bookkeeping is the only thing that throws (std::bad_alloc, when the internal
// instance finds no system memory); every exported function catches it, and the call fails
// the way the C API fails. Nothing thrown ever unwinds into C.
// Heap misuse: free, realloc and malloc_usable_size first check that the pointer is an object
// this allocator handed out and still holds (read only: the address lies in the span of memory
// the library mapped, and the block header says so, the core's own test). When it is not, the
// process ends with one line on standard error naming the call, the pointer and the misuse
// (a double free, a pointer into the middle of a block, or one it never handed out), like
// glibc's "free(): double free detected". Building with -DPPRSIM_DMMALLOC_NO_MISUSE_CHECK leaves
// the check out; it exists to measure what the check costs.
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <sys/single_threaded.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>
#include <vector>

#include "alloc/dmmalloc.h"
#include "alloc/native_memory.h"
#include "native/dropin_thread_cache.h"
#include "native/retained_regions.h"
#include "native/pprsim_dmmalloc.h"

#define PPRSIM_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

using pprsim::Addr;
using pprsim::NativeMemory;
namespace dm = pprsim::dm;
namespace dropin = pprsim::dropin;

#ifdef PPRSIM_DMMALLOC_NO_MISUSE_CHECK
constexpr bool kCheckMisuse = false;
#else
constexpr bool kCheckMisuse = true;
#endif

// The span of addresses the library has mapped memory in, in this process (both instances and
// the tasks' slices): every object it hands out lies in [first, end), first being the
// lowest mapping plus a block header. Written under the lock (or with one thread); it only widens.
// Atomic (relaxed) because the lock-free fast paths read it: a pointer a thread frees reached it
// through the program's own synchronisation, which orders the widening that covered it.
// Both ends in one cache line: free reads them together.
struct alignas(64) Span {
  std::atomic<Addr> first{~Addr{0}};
  std::atomic<Addr> end{0};
};
Span g_span;

void note_mapped(Addr a, std::uint64_t n) {
  g_span.first.store(std::min(g_span.first.load(std::memory_order_relaxed), a + dm::kHeader), std::memory_order_relaxed);
  g_span.end.store(std::max(g_span.end.load(std::memory_order_relaxed), a + n), std::memory_order_relaxed);
}
Addr span_first() { return g_span.first.load(std::memory_order_relaxed); }
Addr span_end() { return g_span.end.load(std::memory_order_relaxed); }

// Native memory that widens the span with every region it maps, and keeps regions given back
// for the next request (native/retained_regions.h) instead of unmapping them at once.
class DropInMemory : public NativeMemory {
 public:
  Addr sys_alloc(std::uint64_t n) {
    if (const Addr kept = retained_.take(n); kept != 0) return kept;  // inside the span already
    const Addr r = NativeMemory::sys_alloc(n);
    if (r != 0) note_mapped(r, n);
    return r;
  }
  void sys_free(Addr a, std::uint64_t n) {
    if (in_slice(a)) {  // a task's slice: back to reserved address space, as the core expects
      NativeMemory::sys_free(a, n);
      return;
    }
    // Its header word no longer says live: a second free of it is found as misuse.
    store64(a, 0);
    retained_.keep(a, n);
  }
  // Free blocks the core has not handed out again that may stay resident (the core idles the
  // pages of its large free blocks only beyond this, DmMalloc::idle_free_blocks).
  static constexpr std::uint64_t idle_keep() { return std::uint64_t{16} << 20; }
  Addr sys_grow(Addr a, std::uint64_t n, std::uint64_t v) {
    const Addr r = NativeMemory::sys_grow(a, n, v);
    if (r != 0) note_mapped(r, v);
    return r;
  }

 private:
  dropin::RetainedRegions retained_;
};
static_assert(pprsim::Memory<DropInMemory>);

// Address space each task of a group may grow into (reserved PROT_NONE by group_init).
constexpr std::uint64_t kSliceBytes = std::uint64_t{1} << 30;

// The core, with the group state of a task exported and imported as bytes
// (alloc/dm/task_state.h), the end of what the task mapped in its slice riding along.
class DropIn : public pprsim::DmMalloc<DropInMemory> {
 public:
  using DmMalloc::DmMalloc;

  bool in_group() const { return !carve_.empty(); }
  void give_up() { gave_up_ = true; }
  using DmMalloc::small_live_header;  // the core's fast-path test of a header, for check_object
  // Whether p is an object this heap handed out and still holds: a live block header (or an
  // aligned object's shim leading to one) just below it. Reads the header, writes nothing.
  bool holds(Addr p) { return block_of(p) != 0; }
  bool in_task() const { return mode_ == Mode::Task; }
  Addr top() const { return top_; }
  // The object at p grows in place into the top when it ends where the top begins (realloc's
  // first step in the core); false, and p untouched, when it does not.
  bool grow_at_top(Addr p, std::uint64_t n) { return grow_into_top(p, n); }
  std::size_t group_tasks() const { return carve_.size(); }

  std::size_t export_state(void* buf, std::size_t cap) const {
    return export_task_state(buf, cap, mem_->slice_cursor());
  }

  // Loads the state of task k exported in group `serial` into this fresh copy.
  bool import_state(const void* buf, std::size_t n, std::uint64_t serial, std::size_t k) {
    return import_task_state(buf, n, serial, k, &slice_used);
  }

  Addr slice_used = 0;  // of an imported state

  std::uint64_t serial() const { return serial_; }

  // Free class-c blocks moved onto a thread's empty list, outside groups only; nonzero when it
  // moved any. With one thread a listed class moves whole (one splice: walking a segment off a
  // long list of cold blocks cost more than the lock it saved, and nobody else needs them);
  // with more, at most n of them (a thread that only allocates, a producer, would otherwise
  // keep what every other thread freed while they cut fresh memory). An empty class gets
  // blocks cut afresh (growing the heap if need be): `cut`, or one with one thread; `fresh`
  // says which it was.
  std::uint32_t fill(int c, std::uint32_t n, std::uint32_t cut, dropin::ClassList& l, bool& fresh) {
    const bool alone = __libc_single_threaded != 0;
    List& g = global_[ci(c)];
    fresh = g.count == 0;
    if (!fresh) {
      const List seg = alone ? std::exchange(g, List{}) : take_segment(g, std::min<std::uint64_t>(n, g.count));
      dropin::replace(l, dropin::ClassList{seg.head, seg.tail, seg.count, 0});
      return 1;
    }
    if (alone) cut = 1;
    else start_line_of_own();
    std::uint32_t got = 0;
    for (; got < cut; ++got) {
      const Addr b = take_shared(c);
      if (b == 0) break;
      dropin::push_cached(l, c, b);
    }
    return got;
  }

  // With threads, a run of blocks cut afresh for one thread starts on a cache line of its own:
  // the top moves to the next 64-byte boundary, the bytes it skips (32, 48 or 80: each a class)
  // listed as a free block. Cut right after another thread's run, the run's first blocks would
  // share a line with that thread's last ones, which both threads then write.
  void start_line_of_own() {
    constexpr std::uint64_t kLine = 64;
    if (top_ == 0 || top_ % kLine == 0) return;
    std::uint64_t pad = kLine - top_ % kLine;
    if (pad < dm::kMinBlock) pad += kLine;
    const int c = dm::class_of(pad - dm::kHeader);
    if (dm::class_size(c) != pad || !dm::can_cut(top_end_ - top_, pad)) return;
    push(global_, c, from_top(c));
  }

  // Whether the core's list of class c is empty.
  bool global_empty(int c) const { return global_[ci(c)].head == 0; }

  // Whether a class-c block would grow the heap: no free block of its class or a larger one,
  // and no room in the top.
  bool would_grow(int c) {
    const std::uint64_t s = dm::class_size(c);
    return (top_ == 0 || !dm::can_cut(top_end_ - top_, s)) && global_empty(c) && next_listed(c + 1, s) == dm::kClasses;
  }

  // A thread's list of free class-c blocks back on the core's list: one splice.
  void take_back(int c, const dropin::ClassList& l) {
    splice_shared(c, List{l.head, l.tail, l.count});
  }
};

alignas(64) std::atomic<int> g_lock{0};  // a line of its own: threads write it
__attribute__((tls_model("initial-exec"))) thread_local int t_depth = 0;
__attribute__((tls_model("initial-exec"))) thread_local bool t_unlocked = false;  // this entry took no lock

// Per-thread caches (native/dropin_thread_cache.h).
__attribute__((tls_model("initial-exec"))) thread_local dropin::ThreadCache t_cache;
dropin::ThreadCache* g_caches = nullptr;  // the registered ones (under the lock)
pthread_key_t g_exit_key;                 // its destructor hands an exiting thread's cache back
// Whether threads may use their caches: not while a group is open (the core's free lists are
// carved then, and a task's blocks carry its tag). Changed under the lock by the group hooks,
// which run with the process's threads quiescent.
bool g_caching = true;

// What t_cache.on is for cache t outside the allocator.
std::uint32_t cache_on(const dropin::ThreadCache& t) {
  return g_caching && t.state == dropin::CacheState::Active ? 1 : 0;
}

alignas(DropInMemory) unsigned char g_mem_buf[sizeof(DropInMemory)];
alignas(DropInMemory) unsigned char g_meta_mem_buf[sizeof(DropInMemory)];
alignas(DropIn) unsigned char g_core_buf[sizeof(DropIn)];
alignas(DropIn) unsigned char g_meta_buf[sizeof(DropIn)];
DropInMemory* g_mem = nullptr;
DropIn* g_core = nullptr;
DropIn* g_meta = nullptr;
// Where the core's top began when the last call that held the lock left it, for the lock-free
// realloc (a hint: the core checks again): a cached realloc of the object just below it grows in
// place under the lock instead of moving. A line of its own (the struct pads it): the slow paths
// write it (only when it moved), every thread's realloc reads it.
struct alignas(64) TopHint {
  std::atomic<Addr> top{0};
};
TopHint g_hint;

void lock() {
  int spins = 0;
  while (g_lock.exchange(1, std::memory_order_acquire) != 0) {
    while (g_lock.load(std::memory_order_relaxed) != 0) {
      if (++spins < 64) {
        __builtin_ia32_pause();
      } else {
        sched_yield();
      }
    }
  }
}

void unlock() { g_lock.store(0, std::memory_order_release); }

// Holds the lock (unless this thread already does, inside the allocator) and marks the thread
// as inside the allocator; builds it on first use.
struct Inside {
  Inside() {
    t_cache.on = 0;  // the allocator's own calls (its bookkeeping) go to the internal instance
    // A process that has never had a second thread needs no lock (as glibc's own malloc does):
    // the flag turns false, for good, before a second thread can run, and never inside here.
    if (t_depth++ == 0 && !(t_unlocked = __libc_single_threaded != 0)) lock();
    if (__builtin_expect(g_core == nullptr, 0)) {
      g_mem = new (g_mem_buf) DropInMemory();
      g_core = new (g_core_buf) DropIn(g_mem);
      g_meta = new (g_meta_buf) DropIn(new (g_meta_mem_buf) DropInMemory());
    }
  }
  ~Inside() {
    if (--t_depth == 0) {
      // Stored only when it moved: threads read it on their lock-free paths.
      if (const Addr top = g_core->top(); g_hint.top.load(std::memory_order_relaxed) != top) {
        g_hint.top.store(top, std::memory_order_relaxed);
      }
      t_cache.on = cache_on(t_cache);
      if (!t_unlocked) unlock();
    }
  }
  Inside(const Inside&) = delete;
  Inside& operator=(const Inside&) = delete;
};

// The instance that serves this call: the internal one when the allocator calls itself.
inline DropIn& heap() { return t_depth > 1 ? *g_meta : *g_core; }

void* fail(int err) {
  errno = err;
  return nullptr;
}

void* as_ptr(Addr a) { return reinterpret_cast<void*>(a); }
Addr as_addr(void* p) { return reinterpret_cast<Addr>(p); }

// After the core threw (it found no memory for its bookkeeping, which it has left as it
// was): in a task, the free or region it could not record is lost to the merge, so the task
// gives up speculation and the runtime re-runs its work.
void lost_bookkeeping() noexcept {
  Inside in;
  if (g_core->in_task()) g_core->give_up();
}

bool power_of_two(std::size_t a) { return a != 0 && (a & (a - 1)) == 0; }

// ---- Heap misuse: found by the check, described, and the process ends. ----

// Reads the n bytes at a (within one page) into out, or false when that page is not readable:
// through a pipe, so that an unmapped or PROT_NONE page makes write(2) fail with EFAULT
// instead of faulting here. Only on the way to abort().
bool read_safely(const int pipe_fds[2], Addr a, void* out, std::size_t n) {
  const ssize_t w = ::write(pipe_fds[1], as_ptr(a), n);
  if (w <= 0) return false;
  const ssize_t r = ::read(pipe_fds[0], out, static_cast<std::size_t>(w));
  return w == static_cast<ssize_t>(n) && r == w;
}

bool small_header(std::uint64_t w0) {
  return (w0 & ~(dm::kClassMask | dm::kLive | dm::kIdle | dm::kGrown)) == dm::kMagic && (w0 & dm::kClassMask) < dm::kClasses;
}
bool large_header(std::uint64_t w0) { return (w0 & ~dm::kLive) == (dm::kMagic | dm::kLarge | dm::kClassMask); }
bool freed_header(std::uint64_t w0) { return (small_header(w0) || large_header(w0)) && (w0 & dm::kLive) == 0; }

// Whether a lies inside a live block at or after its payload's start: the nearest block header
// below a (a small block's within the largest class, a large region's at a page start) is a
// live one whose block reaches past a. Payload that happens to look like a header could
// mislead it; it only chooses the words of a message about a pointer already found bad.
bool inside_live_block(const int fds[2], Addr a) {
  constexpr Addr kPage = pprsim::kPageSize;
  constexpr std::uint64_t kLargeScanPages = std::uint64_t{1} << 18;  // 1 GiB back at most
  static std::uint64_t page[kPage / 8];  // one caller at a time: it holds the allocator's lock
  const Addr first = span_first();
  if (a < first) return false;
  const Addr top = (a - dm::kHeader) & ~Addr{15};  // the highest header that could hold a
  const Addr lowest = first - dm::kHeader;
  for (Addr p = top & ~(kPage - 1), n = 0; p >= lowest && n < kLargeScanPages; p -= kPage, ++n) {
    const bool near = a - p <= dm::kTopBlock + kPage;  // small blocks' headers are this close
    if (near) {
      if (!read_safely(fds, p, page, kPage)) return false;
    } else if (!read_safely(fds, p, page, 16)) {
      return false;
    }
    const Addr from = std::min(top, p + kPage - 16);
    for (Addr h = near ? from : p; h >= p; h -= 16) {
      const std::uint64_t w0 = page[(h - p) / 8];
      if (large_header(w0) && h == p) {
        const std::uint64_t size = page[(h - p) / 8 + 1];
        return (w0 & dm::kLive) != 0 && a - h < size;
      }
      if (near && small_header(w0)) {
        return (w0 & dm::kLive) != 0 && a - h < dm::class_size(static_cast<int>(w0 & dm::kClassMask));
      }
      if (near && w0 == (dm::kMagic | dm::kTop)) return false;  // never handed out
      if (h == p) break;
    }
    if (p < kPage) break;
  }
  return false;
}

// What is wrong with passing a to a function that needs a live object of this allocator.
const char* misuse_of(Addr a, bool freeing) {
  const char* const freed = freeing ? "double free" : "block already freed";
  const char* const foreign = "not a block this allocator handed out";
  int fds[2];
  if (a < span_first() || a >= span_end() || ::pipe(fds) != 0) return foreign;
  const char* why = foreign;
  std::uint64_t w[2];
  if ((a & 15) == 0 && read_safely(fds, a - dm::kHeader, w, sizeof w)) {
    if (freed_header(w[0])) {
      why = freed;
    } else if (w[0] == (dm::kMagic | dm::kLive | dm::kShim)) {  // an aligned object's shim
      std::uint64_t b;
      const Addr h = a - dm::kHeader - w[1];
      if (w[1] < a && (h & 15) == 0 && read_safely(fds, h, &b, sizeof b) && freed_header(b)) why = freed;
    }
  }
  if (why == foreign && inside_live_block(fds, a)) why = "pointer into the middle of a block";
  ::close(fds[0]);
  ::close(fds[1]);
  return why;
}

// Writes "pprsim_dmmalloc: FN(0xADDR): WHAT" to standard error with write(2) (nothing that
// allocates: the heap is not to be trusted any more) and aborts.
[[noreturn, gnu::cold, gnu::noinline]] void misuse(const char* fn, Addr a) {
  const char* const why = misuse_of(a, std::strcmp(fn, "free") == 0);
  char line[192];
  std::size_t n = 0;
  auto put = [&](const char* s) {
    while (*s != '\0' && n < sizeof line - 1) line[n++] = *s++;
  };
  char hex[19] = "0x";
  int digits = 1;
  while (digits < 16 && (a >> (4 * digits)) != 0) ++digits;
  for (int i = 0; i < digits; ++i) hex[2 + i] = "0123456789abcdef"[(a >> (4 * (digits - 1 - i))) & 15];
  hex[2 + digits] = '\0';
  put("pprsim_dmmalloc: ");
  put(fn);
  put("(");
  put(hex);
  put("): ");
  put(why);
  line[n++] = '\n';
  for (std::size_t done = 0; done < n;) {
    const ssize_t w = ::write(2, line + done, n - done);
    if (w <= 0) break;
    done += static_cast<std::size_t>(w);
  }
  std::abort();
}

// The check: p, passed to fn, must be an object heap h handed out and still holds. The span
// in one unsigned compare, then the common case, a small live block, in one masked compare of
// its header (the word the core's free reads next); anything else goes through the core's
// own test.
inline void check_object(DropIn& h, void* p, const char* fn) {
  if constexpr (kCheckMisuse) {
    const Addr a = as_addr(p);
    const Addr first = span_first();
    if (__builtin_expect(a - first < span_end() - first && (a & 15) == 0, 1)) {
      const std::uint64_t w0 = *reinterpret_cast<const std::uint64_t*>(a - dm::kHeader);
      if (__builtin_expect(DropIn::small_live_header(w0), 1)) return;
      if (h.holds(a)) return;
    }
    misuse(fn, a);
  }
}

// The slices of the current group: address space reserved (PROT_NONE, no memory behind it)
// before the fork, one kSliceBytes range per task, so that what tasks map to grow never
// overlaps. A group is never open without them (group_init fails when they are refused).
Addr g_slices = 0;
std::size_t g_slice_count = 0;

// False when the system refuses the address space.
bool reserve_slices(std::size_t tasks) {
  static_assert(PPRSIM_DM_MAX_TASKS * kSliceBytes <= std::uint64_t{1} << 46);
  void* p = ::mmap(nullptr, tasks * kSliceBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return false;
  g_slices = as_addr(p);
  g_slice_count = tasks;
  note_mapped(g_slices, tasks * kSliceBytes);  // what tasks map there is the library's too
  return true;
}

// Gives back the reservation, keeping [start of slice k, used[k]) of every slice that
// holds committed memory (used[k] > 0); the process is no task any more.
void release_slices(const std::vector<Addr>& used) {
  for (std::size_t k = 0; k < g_slice_count; ++k) {
    const Addr start = g_slices + k * kSliceBytes;
    const Addr end = start + kSliceBytes;
    const Addr keep = k < used.size() && used[k] > start && used[k] <= end ? used[k] : start;
    if (keep < end) ::munmap(as_ptr(keep), end - keep);
  }
  g_slices = 0;
  g_slice_count = 0;
  g_mem->confine(0, 0);
}

// ---- Per-thread caches (native/dropin_thread_cache.h): the paths without the lock. ----


// Lists threads gave back whole, per class (dropin::TransferStack). Under the lock.
dropin::TransferStack g_transfer[dropin::kCachedClasses];

// Every transfer list back on the core's free lists. Under the lock.
void drain_transfers() {
  for (int c = 0; c < dropin::kCachedClasses; ++c) {
    while (g_transfer[c].lists > 0) g_core->take_back(c, g_transfer[c].take(c));
  }
}

// Every block of cache t back on the core's free lists. Under the lock.
void drain(dropin::ThreadCache& t) {
  for (int c = 0; c < dropin::kCachedClasses; ++c) {
    g_core->take_back(c, dropin::take_all(t.lists[c]));
  }
}

// Bytes of the lists the transfer stacks hold. Under the lock.
std::uint64_t transfer_bytes() {
  std::uint64_t bytes = 0;
  for (std::size_t c = 0; c < dropin::kCachedClasses; ++c) {
    bytes += g_transfer[c].lists * dropin::kCap[c] * dm::class_size(static_cast<int>(c));
  }
  return bytes;
}

// With threads, what the caches gave back to the core and the transfer stacks since the last
// time trim_if_due asked the core (under the lock), and how often it asks.
std::uint64_t g_given_back = 0;
constexpr std::uint64_t kTrimAskEvery = std::uint64_t{256} << 10;

// With threads, after every kTrimAskEvery bytes of blocks the caches gave back: when the core's
// lists and the transfer stacks, with this thread's cache, hold enough free memory
// (DmMalloc::trim_due, the same hysteresis as with one thread), they all go back to the core and
// the core trims. The other threads' caches stay theirs (at most kCap's worth each; only their
// threads touch them), and the core's walk leaves their blocks alone (the join takes only blocks
// on its lists, as when it runs before the heap grows). Before, a process with threads gave
// nothing back while its heap was not growing: 200 MB freed by a second thread stayed resident
// (glibc: under 1 MB).
void trim_if_due(std::uint64_t given) {
  g_given_back += given;
  if (g_given_back < kTrimAskEvery) return;
  g_given_back = 0;
  if (!g_core->trim_due(transfer_bytes() + dropin::cached_bytes(t_cache))) return;
  drain(t_cache);
  drain_transfers();
  g_core->trim();
}

void unregister(dropin::ThreadCache& t) {
  if (t.prev != nullptr) t.prev->next = t.next;
  if (t.next != nullptr) t.next->prev = t.prev;
  if (g_caches == &t) g_caches = t.next;
  t.prev = t.next = nullptr;
}

// Before a group hook changes the core: every thread's cache goes back (the threads are
// quiescent), and the caches stay off until the group closes. Under the lock.
void caches_off() {
  g_caching = false;
  drain_transfers();
  for (dropin::ThreadCache* t = g_caches; t != nullptr; t = t->next) {
    drain(*t);
    t->on = 0;
  }
}
void caches_on() {
  g_caching = true;
  for (dropin::ThreadCache* t = g_caches; t != nullptr; t = t->next) t->on = t != &t_cache ? cache_on(*t) : 0;
}

void thread_exit(void*) {
  Inside in;
  const std::uint64_t given = dropin::cached_bytes(t_cache);
  drain(t_cache);
  trim_if_due(given);
  unregister(t_cache);
  t_cache.state = dropin::CacheState::Dead;
}

// Once the process has a second thread, this thread's lists take the caps of a process with
// threads (dropin::kSoloCap's let them grow past them).
void capped_if_threads() {
  if (t_cache.solo && __libc_single_threaded == 0) dropin::set_limits(t_cache, false);
}

// This thread's cache in use from now on (registered the first time); false when caching is off
// or the thread is exiting. Under the lock.
bool register_cache() {
  if (!g_caching || g_core->in_group() || t_cache.state == dropin::CacheState::Dead) return false;
  if (t_cache.state == dropin::CacheState::Unregistered) {
    t_cache.state = dropin::CacheState::Active;
    dropin::set_limits(t_cache, true);
    t_cache.next = g_caches;
    if (g_caches != nullptr) g_caches->prev = &t_cache;
    g_caches = &t_cache;
    pthread_setspecific(g_exit_key, &t_cache);
  }
  capped_if_threads();
  return true;
}

// Class c's list was empty: a list another thread gave back whole, else up to refill_count(c)
// blocks from the core, under the lock; then one of them for the caller (0 when the core has
// none or caching is off).
[[gnu::noinline]] Addr refill(int c) {
  Inside in;
  if (!register_cache()) return 0;
  dropin::ClassList& l = t_cache.lists[c];
  if (g_transfer[c].lists > 0) {
    dropin::replace(l, g_transfer[c].take(c));
  } else {
    // The heap would grow while this thread's cache holds much free memory (a process with one
    // thread keeps every free block there): the cache goes back first, so that the core splits
    // or joins those blocks (DmMalloc::join_free_blocks) instead.
    if (g_core->would_grow(c) && g_core->join_due(dropin::cached_bytes(t_cache))) {
      drain(t_cache);
      drain_transfers();
    }
    // With one thread, the smallest cached block up to twice the size goes to the core, whose
    // split serves the class from it (its rest tiled onto the core's lists) instead of cutting
    // fresh memory from the top: memory the program already touched serves first. Utilization
    // over the CS:APP traces 0.88 -> 0.91 (glibc 1.00; bash 0.69 -> 0.81, perl 0.77 -> 0.86).
    // Up to a page only: random-bal's blocks of 5-32 KiB, split so (or from any larger cached
    // block), left rests its requests could not use (5.8 MB -> 6.4 MB).
    if (__libc_single_threaded != 0 && c < dm::kSmallClasses && g_core->global_empty(c)) {
      const std::uint64_t s = dm::class_size(c);
      for (int j = c + 1; j < dropin::kCachedClasses && dm::class_size(j) <= 2 * s; ++j) {
        dropin::ClassList& lj = t_cache.lists[j];
        if (lj.head != 0 && dm::can_cut(dm::class_size(j), s)) {
          const Addr b = dropin::pop_cached(lj);
          g_core->take_back(j, dropin::ClassList{b, b, 1, 0});
          break;
        }
      }
    }
    std::uint32_t& cut = t_cache.cut[c];
    if (cut == 0) cut = std::min(dropin::kFirstCut, dropin::refill_count(c));
    bool fresh = false;
    if (g_core->fill(c, dropin::refill_count(c), cut, l, fresh) == 0) return 0;
    // More the next time, once it cut that many (a process with one thread cuts one at a time).
    if (fresh && __libc_single_threaded == 0) cut = std::min(2 * cut, dropin::refill_count(c));
  }
  return dropin::pop_cached(l);
}

// Class c's list is full: it goes back whole, under the lock, for the next thread to refill
// from (a shorter list, which only the first spill after a second thread started can be,
// goes to the core, as do the classes of one block per list).
[[gnu::noinline]] void spill(int c) {
  Inside in;
  const dropin::ClassList l = dropin::take_all(t_cache.lists[c]);
  // Classes of one block per list (32 KiB and up) go to the core, whose free blocks of 64 KiB
  // and more give their pages back when the heap grows (DmMalloc::idle_free_blocks).
  if (l.count == dropin::cap(c) && dropin::cap(c) > 1) {
    g_transfer[c].put(l);
  } else {
    g_core->take_back(c, l);
  }
  trim_if_due(l.count * dm::class_size(c));
}

// With one thread, class c's list reached its soft cap: when the cache and the core's lists
// hold enough free memory (DmMalloc::trim_due), the cache goes back to the core, which gives
// free pages back to the system (DmMalloc::trim), and the soft caps start again; else this
// list's soft cap doubles.
[[gnu::noinline]] void trim_or_raise(int c) {
  Inside in;
  if (g_core->trim_due(dropin::cached_bytes(t_cache))) {
    drain(t_cache);
    drain_transfers();
    g_core->trim();
    dropin::set_limits(t_cache, true);
  } else {
    t_cache.lists[c].limit *= 2;
  }
}

// Whether a thread outside the allocator may take the lock-free paths, or start to (its first
// refill registers its cache).
inline bool may_cache() {
  return t_cache.on != 0 || (t_depth == 0 && t_cache.state == dropin::CacheState::Unregistered);
}

inline void* hand_out(Addr b, int c) {
  *reinterpret_cast<std::uint64_t*>(b) = dm::kMagic | dm::kLive | static_cast<std::uint64_t>(c);
  *reinterpret_cast<std::uint64_t*>(b + 8) = 0;  // the owner tag outside groups
  return as_ptr(b + dm::kHeader);
}

// malloc(n) from the thread's cache without the lock; 0 when the list is empty or the cache
// may not be used.
inline void* cached_malloc(std::size_t n) {
  if (t_cache.on == 0 || n > dropin::kCachedRequest) return nullptr;
  const int c = dm::class_of(n);
  dropin::ClassList& l = t_cache.lists[c];
  if (l.head == 0) return nullptr;
  return hand_out(dropin::pop_cached(l), c);
}

// cached_malloc's way when the list was empty: a refill under the lock (0 when it does not apply).
[[gnu::noinline]] void* refilled_malloc(std::size_t n) {
  if (n > dropin::kCachedRequest || !may_cache()) return nullptr;
  const int c = dm::class_of(n);
  const Addr b = refill(c);
  return b != 0 ? hand_out(b, c) : nullptr;
}

// The class of p when it is a live block of a cached class, its header's flags outside `allow`
// clear; -1 otherwise. A buffer the core grew into its top carries dm::kGrown, so that its free
// reaches the core, which gives it back to the top when it still ends there (DmMalloc::rejoin_top):
// cached at its last class, a buffer grown from small and freed, again and again, left one such
// block behind each time (98 MB resident after 2,000 rounds of a 64 KiB buffer where glibc held
// 1.6 MB).
inline int live_class(void* p, std::uint64_t allow) {
  const Addr a = as_addr(p);
  const Addr first = span_first();
  if (a - first >= span_end() - first || (a & 15) != 0) return -1;
  const std::uint64_t w0 = *reinterpret_cast<const std::uint64_t*>(a - dm::kHeader);
  if (!DropIn::small_live_header(w0 & ~allow)) return -1;  // its class is below dm::kClasses, all cached
  static_assert(dropin::kCachedClasses == dm::kClasses);
  return static_cast<int>(w0 & dm::kClassMask);
}

// The class of p when it is a live block this thread's cache may take when it is freed.
inline int cached_class(void* p) { return live_class(p, 0); }

// free(p) into the thread's cache; false when the caller must take the lock (which also
// reports misuse).
inline bool cached_free(void* p) {
  if (t_cache.on == 0) return false;
  const int c = cached_class(p);
  if (c < 0) return false;
  dropin::ClassList& l = t_cache.lists[c];
  // The list's cap in force (dropin::ClassList::limit): with threads, a full list goes back at
  // its next free; with one thread every free block stays in the cache (the cache is then simply
  // the heap's free list), and a soft cap asks now and then whether to trim (free_slow).
  if (l.count >= l.limit) return false;
  dropin::push_cached(l, c, as_addr(p) - dm::kHeader);
  return true;
}

// The usable size of p when it is a live block of a cached class, else 0.
inline std::uint64_t cached_usable_size(void* p) {
  const int c = live_class(p, dm::kGrown);
  return c >= 0 ? dm::class_size(c) - dm::kHeader : 0;
}

// The usable size of p when it is the object of a live large region (its header at the region's
// start, the payload 16 bytes into its first page: DmMalloc::map_large), else 0: what realloc
// and malloc_usable_size read first, without the lock. realloc-bal grows its buffer in a region
// from 256 KiB to 600 KiB by 128 bytes at a time, and 60% of its reallocs took the lock only to
// find the region large enough.
inline std::uint64_t region_usable_size(void* p) {
  const Addr a = as_addr(p);
  const Addr first = span_first();
  if (a - first >= span_end() - first || (a & (pprsim::kPageSize - 1)) != dm::kHeader) return 0;
  const auto* h = reinterpret_cast<const std::uint64_t*>(a - dm::kHeader);
  return (h[0] & dm::kLive) != 0 && large_header(h[0]) ? h[1] - dm::kHeader : 0;
}

void prepare_fork() { lock(); }
void after_fork_parent() { unlock(); }
// The child has one thread: the others' caches stay with them (at most a few hundred KiB each,
// never handed out again: they might have been mid-update at the fork).
void after_fork_child() {
  for (dropin::ThreadCache* t = g_caches; t != nullptr;) {
    dropin::ThreadCache* next = t->next;
    if (t != &t_cache) unregister(*t);
    t = next;
  }
  unlock();
}

__attribute__((constructor)) void register_fork_handlers() {
  pthread_key_create(&g_exit_key, &thread_exit);
  pthread_atfork(&prepare_fork, &after_fork_parent, &after_fork_child);
}

// Everything the lock-free paths of malloc and free do not serve.
[[gnu::noinline]] void* malloc_slow(std::size_t n) {
  // A class above the lookup table's reach may have a cached block (every class is cached);
  // below it, do_malloc looked already.
  void* p = n > dm::kTableTo - dm::kHeader ? cached_malloc(n) : nullptr;
  if (p == nullptr) p = refilled_malloc(n);
  if (p != nullptr) return p;
  try {
    Inside in;
    p = as_ptr(heap().malloc(n));
  } catch (...) {
    lost_bookkeeping();
    p = nullptr;
  }
  return p != nullptr ? p : fail(ENOMEM);
}

// malloc itself, for the library's own entry points. A request of up to 32 KiB whose class has a
// cached block takes it after one size test and one table lookup (dm::class_of's first case);
// every other one goes out of line.
inline void* do_malloc(std::size_t n) {
  if (__builtin_expect(t_cache.on != 0 && n <= dm::kTableTo - dm::kHeader, 1)) {
    const int c = dm::kClassTable[(n + dm::kHeader - 1) >> dm::kGrainShift];
    dropin::ClassList& l = t_cache.lists[c];
    if (__builtin_expect(l.head != 0, 1)) return hand_out(dropin::pop_cached(l), c);
  }
  return malloc_slow(n);
}

// An aligned object: a block malloc hands out (from the thread's cache when it can), with the
// aligned address inside it and a shim header below that leading back to the block (the
// core's memalign, dmmalloc.h align_within). Through the core's own memalign a process with
// one thread cut a fresh block for every call: the free blocks it needed were in its cache.
void* aligned(std::size_t align, std::size_t n) noexcept {
  if (align <= dm::kHeader) return do_malloc(n);
  if (n > dm::kMaxRequest || align > dm::kMaxRequest) return nullptr;  // as the core refuses
  void* p = do_malloc(std::max<std::size_t>(n, 1) + align - dm::kHeader);
  return p != nullptr ? as_ptr(g_core->align_within(as_addr(p), align)) : nullptr;
}

// Before the core itself serves a call that may take a free block (realloc's general path to a
// small size; draining before every realloc past 64 KiB ran realloc-bal at 0.41x glibc): a
// process with one thread keeps every free block in its thread's cache, which the core cannot
// see, so the cache goes back to the core first (the next malloc of each class takes its list
// back whole). Under the lock, the outermost call only.
void unhoard() {
  if (t_depth == 1 && __libc_single_threaded != 0 && t_cache.state == dropin::CacheState::Active) drain(t_cache);
}

[[gnu::noinline]] void free_slow(void* p) {
  if (p == nullptr) return;
  if (const int c = cached_class(p); c >= 0 && may_cache()) {
    // A thread that frees before it ever allocates (a consumer) caches its frees too: else every
    // one of them took the lock, and the blocks went one by one to the core's lists, where
    // producers then walked them off.
    if (t_cache.on == 0) {
      Inside in;
      register_cache();
    }  // leaving the allocator turned the cache on
    if (t_cache.on != 0) {
      dropin::ClassList& l = t_cache.lists[c];
      if (__libc_single_threaded == 0) {
        capped_if_threads();
        if (l.count >= dropin::kCap[static_cast<std::size_t>(c)]) spill(c);
      } else if (l.count >= l.limit) {
        trim_or_raise(c);
      }
      dropin::push_cached(l, c, as_addr(p) - dm::kHeader);
      return;
    }
  }
  try {
    Inside in;
    DropIn& h = heap();
    check_object(h, p, "free");
    h.free(as_addr(p));
  } catch (...) {
    lost_bookkeeping();
  }
}

}  // namespace

PPRSIM_EXPORT void* malloc(std::size_t n) { return do_malloc(n); }

PPRSIM_EXPORT void free(void* p) {
  if (__builtin_expect(!cached_free(p), 0)) free_slow(p);
}

PPRSIM_EXPORT void* calloc(std::size_t count, std::size_t size) {
  std::size_t n;
  void* p = nullptr;
  if (!__builtin_mul_overflow(count, size, &n) && ((p = cached_malloc(n)) != nullptr || (p = refilled_malloc(n)) != nullptr)) {
    std::memset(p, 0, n);
    return p;
  }
  try {
    Inside in;
    p = as_ptr(heap().calloc(count, size));
  } catch (...) {
    lost_bookkeeping();
    p = nullptr;
  }
  return p != nullptr ? p : fail(ENOMEM);
}

// An object that ends where the core's top begins grows into it, as the core's realloc does
// first: a growing buffer between small objects (realloc2-bal) moved at every growth through
// the thread cache and left each old block behind, in twice the core's memory.
[[gnu::noinline]] bool grow_at_top(void* p, std::size_t n) {
  Inside in;
  return heap().grow_at_top(as_addr(p), n);  // writes one header word, allocates nothing
}

PPRSIM_EXPORT void* realloc(void* p, std::size_t n) {
  if (p == nullptr) return do_malloc(n);
  if (n != 0 && t_cache.on != 0) {
    if (const std::uint64_t old = cached_usable_size(p); old != 0) {
      if (n <= old) return p;
      // The core's growth policy, from and to cached classes: no lock. An object growing past
      // dm::kGrowIntoRegion goes to the core, which moves it to a region that grows in place.
      const std::uint64_t ahead = dm::growth_request(old, n);
      if (as_addr(p) + old == g_hint.top.load(std::memory_order_relaxed) && grow_at_top(p, n)) return p;
      if (ahead < dm::kGrowIntoRegion) {
        void* q = cached_malloc(ahead);
        if (q == nullptr) q = refilled_malloc(ahead);
        if (q != nullptr) {
          std::memcpy(q, p, old);
          free(p);
          return q;
        }
      }
    } else if (n <= region_usable_size(p)) {
      return p;  // as the core's realloc: a region is never shrunk in place
    }
  }
  void* q;
  try {
    Inside in;
    DropIn& h = heap();
    check_object(h, p, "realloc");
    // Only a small result can be a class block the core cuts; a large one is a region of its own.
    if (n < dm::kGrowIntoRegion) unhoard();
    q = as_ptr(h.realloc(as_addr(p), n));
  } catch (...) {
    // p is still the caller's (the core frees it only after the copy).
    lost_bookkeeping();
    return fail(ENOMEM);
  }
  if (q == nullptr && n != 0) return fail(ENOMEM);
  return q;
}

PPRSIM_EXPORT void* reallocarray(void* p, std::size_t count, std::size_t size) {
  if (size != 0 && count > SIZE_MAX / size) return fail(ENOMEM);
  return realloc(p, count * size);
}

PPRSIM_EXPORT int posix_memalign(void** out, std::size_t align, std::size_t n) {
  if (!power_of_two(align) || align % sizeof(void*) != 0) return EINVAL;
  void* p = aligned(align, n);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

PPRSIM_EXPORT void* aligned_alloc(std::size_t align, std::size_t n) {
  if (!power_of_two(align)) return fail(EINVAL);
  void* p = aligned(align, n);
  return p != nullptr ? p : fail(ENOMEM);
}

PPRSIM_EXPORT void* memalign(std::size_t align, std::size_t n) {
  // Like glibc: an alignment that is not a power of two is rounded up to one.
  std::size_t a = 1;
  while (a < align && a != 0) a <<= 1;
  if (a == 0) return fail(EINVAL);
  void* p = aligned(a, n);
  return p != nullptr ? p : fail(ENOMEM);
}

PPRSIM_EXPORT void* valloc(std::size_t n) { return memalign(static_cast<std::size_t>(sysconf(_SC_PAGESIZE)), n); }

PPRSIM_EXPORT void* pvalloc(std::size_t n) {
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  if (n > SIZE_MAX - page) return fail(ENOMEM);
  return memalign(page, n == 0 ? page : (n + page - 1) / page * page);
}

PPRSIM_EXPORT std::size_t malloc_usable_size(void* p) {
  if (p == nullptr) return 0;
  if (const std::uint64_t n = cached_usable_size(p); n != 0) return n;
  if (const std::uint64_t n = region_usable_size(p); n != 0) return n;
  try {
    Inside in;
    DropIn& h = heap();
    check_object(h, p, "malloc_usable_size");
    return h.usable_size(as_addr(p));
  } catch (...) {  // it allocates nothing: never here
    return 0;
  }
}

// ---- PPR hooks. ----

PPRSIM_EXPORT int pprsim_dm_group_init(int tasks) {
  if (tasks < 1 || tasks > PPRSIM_DM_MAX_TASKS) {
    errno = EINVAL;
    return -1;
  }
  int err = 0;
  bool reserved = false;
  try {
    Inside in;
    // A second carve would drop the partitions of the open group (and in a task, its own).
    // The slices first: without them every task would give up as soon as it needs memory.
    if (g_core->in_group()) {
      err = EINVAL;
    } else if (!(reserved = reserve_slices(static_cast<std::size_t>(tasks)))) {
      err = ENOMEM;
    } else {
      caches_off();  // the carve divides every free block; none may stay in a thread's cache
      if (!g_core->group_init(tasks)) err = ENOMEM;  // false or a throw: no partition made
    }
  } catch (...) {
    err = ENOMEM;
  }
  if (err == ENOMEM && reserved) {
    Inside in;
    release_slices({});
    caches_on();
  }
  if (err != 0) errno = err;
  return err != 0 ? -1 : 0;
}

PPRSIM_EXPORT int pprsim_dm_task_init(int k) {
  bool ok;
  try {
    Inside in;
    // A second task_init would hand out the partition as carved again, blocks this task holds.
    ok = g_core->in_group() && !g_core->in_task() && k >= 0 && static_cast<std::size_t>(k) < g_core->group_tasks();
    if (ok) {
      g_core->task_init(k);
      if (static_cast<std::size_t>(k) < g_slice_count) {
        g_mem->confine(g_slices + static_cast<Addr>(k) * kSliceBytes, kSliceBytes);
      }
    }
  } catch (...) {  // it allocates nothing: never here
    ok = false;
  }
  if (!ok) errno = EINVAL;
  return ok ? 0 : -1;
}

PPRSIM_EXPORT int pprsim_dm_understudy_init(void) {
  bool ok;
  try {
    Inside in;
    // In a task the carve of its own partition is stale: its blocks may be live by now.
    ok = g_core->in_group() && !g_core->in_task();
    if (ok) {
      g_core->understudy_init();
      release_slices({});
      caches_on();
    }
  } catch (...) {  // it allocates nothing: never here
    ok = false;
  }
  if (!ok) errno = EINVAL;
  return ok ? 0 : -1;
}

PPRSIM_EXPORT int pprsim_dm_gave_up(void) {
  try {
    Inside in;
    return g_core->gave_up() ? 1 : 0;
  } catch (...) {  // it allocates nothing: never here
    return 1;
  }
}

PPRSIM_EXPORT std::size_t pprsim_dm_task_state(void* buf, std::size_t cap) {
  std::size_t need = 0;
  try {
    Inside in;
    if (g_core->in_task()) need = g_core->export_state(buf, cap);
  } catch (...) {  // it allocates nothing: never here
    need = 0;
  }
  if (need == 0) errno = EINVAL;
  return need;
}

PPRSIM_EXPORT int pprsim_dm_merge(const void* const* states, const std::size_t* sizes, std::size_t tasks,
                                  std::size_t committed) {
  bool ok = true;
  int err = EINVAL;
  try {
    Inside in;
    if (!g_core->in_group() || tasks != g_core->group_tasks() || committed > tasks ||
        (committed > 0 && states == nullptr) || (states != nullptr && sizes == nullptr)) {
      ok = false;
    } else {
      // Copies of the tasks' allocators, rebuilt from their states (internal memory).
      std::vector<DropIn> copies;
      copies.reserve(tasks);
      for (std::size_t k = 0; k < tasks && ok; ++k) {
        copies.emplace_back(g_mem);
        const void* s = states != nullptr ? states[k] : nullptr;
        if (s != nullptr) {
          ok = copies.back().import_state(s, sizes[k], g_core->serial(), k);
        } else {
          ok = k >= committed;
        }
      }
      if (ok) {
        // Everything that allocates comes before the first change: a throw changes nothing.
        std::vector<const pprsim::DmMalloc<DropInMemory>*> ptrs;
        for (const DropIn& c : copies) ptrs.push_back(&c);
        std::vector<Addr> used(tasks, 0);
        for (std::size_t k = 0; k < committed; ++k) used[k] = copies[k].slice_used;
        g_core->learn(ptrs);
        g_core->merge(ptrs, committed);
        release_slices(used);
        caches_on();
      }
    }
  } catch (...) {
    ok = false;
    err = ENOMEM;
  }
  if (!ok) errno = err;
  return ok ? 0 : -1;
}
