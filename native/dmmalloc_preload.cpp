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
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <new>
#include <vector>

#include "alloc/dmmalloc.h"
#include "alloc/native_memory.h"
#include "native/pprsim_dmmalloc.h"

#define PPRSIM_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

using pprsim::Addr;
using pprsim::NativeMemory;

constexpr std::uint64_t kStateMagic = 0x3245544154534D44ull;  // "DMSTATE2"
// Address space each task of a group may grow into (reserved PROT_NONE by group_init).
constexpr std::uint64_t kSliceBytes = std::uint64_t{1} << 30;

// The core, with the group state of a task exported and imported as bytes.
class DropIn : public pprsim::DmMalloc<NativeMemory> {
 public:
  using DmMalloc::DmMalloc;

  struct StateHeader {
    std::uint64_t magic;
    std::uint64_t classes;
    std::uint64_t serial;
    std::uint64_t task;
    std::int64_t rescue_class;
    std::uint64_t deferred;
    std::uint64_t slice_used;  // end of what the task mapped in its slice
  };

  static constexpr std::size_t fixed_size() {
    return sizeof(StateHeader) + sizeof(Lists) + sizeof(taken_);
  }

  bool in_group() const { return !carve_.empty(); }
  void give_up() { gave_up_ = true; }
  bool in_task() const { return mode_ == Mode::Task; }
  std::size_t group_tasks() const { return carve_.size(); }

  std::size_t export_state(void* buf, std::size_t cap) const {
    const std::size_t need = fixed_size() + deferred_.size() * sizeof(Addr);
    if (buf == nullptr || cap < need) return need;
    const StateHeader h{kStateMagic, pprsim::dm::kClasses, serial_, static_cast<std::uint64_t>(task_),
                        rescue_class_, deferred_.size(), mem_->slice_cursor()};
    auto* out = static_cast<unsigned char*>(buf);
    std::memcpy(out, &h, sizeof h);
    out += sizeof h;
    std::memcpy(out, &mine_, sizeof(Lists));
    out += sizeof(Lists);
    std::memcpy(out, &taken_, sizeof(taken_));
    out += sizeof(taken_);
    if (!deferred_.empty()) std::memcpy(out, deferred_.data(), deferred_.size() * sizeof(Addr));
    return need;
  }

  // Loads the state of task k exported in group `serial` into this fresh copy.
  bool import_state(const void* buf, std::size_t n, std::uint64_t serial, std::size_t k) {
    if (buf == nullptr || n < fixed_size()) return false;
    StateHeader h;
    const auto* in = static_cast<const unsigned char*>(buf);
    std::memcpy(&h, in, sizeof h);
    if (h.magic != kStateMagic || h.classes != pprsim::dm::kClasses || h.serial != serial || h.task != k ||
        h.deferred > (n - fixed_size()) / sizeof(Addr) || n != fixed_size() + h.deferred * sizeof(Addr)) {
      return false;
    }
    in += sizeof h;
    std::memcpy(&mine_, in, sizeof(Lists));
    in += sizeof(Lists);
    std::memcpy(&taken_, in, sizeof(taken_));
    in += sizeof(taken_);
    deferred_.resize(h.deferred);
    if (h.deferred > 0) std::memcpy(deferred_.data(), in, h.deferred * sizeof(Addr));
    rescue_class_ = static_cast<int>(h.rescue_class);
    slice_used = h.slice_used;
    return true;
  }

  Addr slice_used = 0;  // of an imported state

  std::uint64_t serial() const { return serial_; }
};

std::atomic<int> g_lock{0};
__attribute__((tls_model("initial-exec"))) thread_local int t_depth = 0;

alignas(NativeMemory) unsigned char g_mem_buf[sizeof(NativeMemory)];
alignas(NativeMemory) unsigned char g_meta_mem_buf[sizeof(NativeMemory)];
alignas(DropIn) unsigned char g_core_buf[sizeof(DropIn)];
alignas(DropIn) unsigned char g_meta_buf[sizeof(DropIn)];
NativeMemory* g_mem = nullptr;
DropIn* g_core = nullptr;
DropIn* g_meta = nullptr;

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
    if (t_depth++ == 0) lock();
    if (__builtin_expect(g_core == nullptr, 0)) {
      g_mem = new (g_mem_buf) NativeMemory();
      g_core = new (g_core_buf) DropIn(g_mem);
      g_meta = new (g_meta_buf) DropIn(new (g_meta_mem_buf) NativeMemory());
    }
  }
  ~Inside() {
    if (--t_depth == 0) unlock();
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

void* aligned(std::size_t align, std::size_t n) noexcept {
  try {
    Inside in;
    return as_ptr(align <= 16 ? heap().malloc(n) : heap().memalign(align, n));
  } catch (...) {
    lost_bookkeeping();
    return nullptr;
  }
}

bool power_of_two(std::size_t a) { return a != 0 && (a & (a - 1)) == 0; }

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

void prepare_fork() { lock(); }
void after_fork() { unlock(); }

__attribute__((constructor)) void register_fork_handlers() {
  pthread_atfork(&prepare_fork, &after_fork, &after_fork);
}

}  // namespace

PPRSIM_EXPORT void* malloc(std::size_t n) {
  void* p;
  try {
    Inside in;
    p = as_ptr(heap().malloc(n));
  } catch (...) {
    lost_bookkeeping();
    p = nullptr;
  }
  return p != nullptr ? p : fail(ENOMEM);
}

PPRSIM_EXPORT void free(void* p) {
  if (p == nullptr) return;
  try {
    Inside in;
    heap().free(as_addr(p));
  } catch (...) {
    lost_bookkeeping();
  }
}

PPRSIM_EXPORT void* calloc(std::size_t count, std::size_t size) {
  void* p;
  try {
    Inside in;
    p = as_ptr(heap().calloc(count, size));
  } catch (...) {
    lost_bookkeeping();
    p = nullptr;
  }
  return p != nullptr ? p : fail(ENOMEM);
}

PPRSIM_EXPORT void* realloc(void* p, std::size_t n) {
  void* q;
  try {
    Inside in;
    q = as_ptr(heap().realloc(as_addr(p), n));
  } catch (...) {
    // p is still the caller's (the core frees it only after the copy).
    lost_bookkeeping();
    return fail(ENOMEM);
  }
  if (q == nullptr && !(p != nullptr && n == 0)) return fail(ENOMEM);
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
  try {
    Inside in;
    return heap().usable_size(as_addr(p));
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
    } else if (!g_core->group_init(tasks)) {  // false or a throw: no partition made
      err = ENOMEM;
    }
  } catch (...) {
    err = ENOMEM;
  }
  if (err == ENOMEM && reserved) {
    Inside in;
    release_slices({});
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
        std::vector<const pprsim::DmMalloc<NativeMemory>*> ptrs;
        for (const DropIn& c : copies) ptrs.push_back(&c);
        std::vector<Addr> used(tasks, 0);
        for (std::size_t k = 0; k < committed; ++k) used[k] = copies[k].slice_used;
        g_core->learn(ptrs);
        g_core->merge(ptrs, committed);
        release_slices(used);
      }
    }
  } catch (...) {
    ok = false;
    err = ENOMEM;
  }
  if (!ok) errno = err;
  return ok ? 0 : -1;
}
