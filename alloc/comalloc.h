// comalloc: private heaps for PPR tasks carved out of a dlmalloc-style base heap
// (alloc/dlheap.h). One source for native and simulated memory (a template over `Memory`).
//
//  - SEQ: every call goes to the base heap.
//  - group_init(g), in the parent before the fork: one chunk of the base heap per task, sized
//    from the demand learned in earlier groups (learn: what a task used, averaged over the
//    group's tasks, halving as demand falls). A carved chunk is written as one free chunk with
//    the private bit: it is in no bin of the base heap, and to the base heap it is in use.
//  - task_init(k): task k allocates only from its own chunk, run as a bounded DlHeap (an arena:
//    the same chunk format, every header with the private bit, nothing read or written outside
//    its range). The base heap's bins, top and segments are never used by a task.
//    free(p) reads p's header: the private bit and the address range say "this task's block",
//    which goes back to the private heap; any other live block is a base-heap block, whose free
//    is deferred to commit (an out-of-band list).
//  - Out of private memory (or for a large object the private heap cannot hold), a task
//    allocates from its growth heap: a DlHeap of its own that grows from the task's slice of
//    address space (DlHeap::slice, Memory::task_sys_alloc), so growing touches nothing shared.
//    Its blocks are ordinary chunks, told apart by address (its segments and large regions,
//    O(log regions)); their frees go back to it. Only when the slice refuses does the task give
//    up (rescue).
//  - merge, on the survivor bound to the committed memory: each committed task's heap becomes
//    ordinary base-heap chunks (live chunks lose the private bit, each run of free space becomes
//    one chunk), aborted tasks' heaps become one chunk each (their memory is as carved); then
//    all that free space is freed into the base heap (coalescing with its neighbours). Each
//    committed task's growth heap is adopted by the base heap (its segments, free chunks and
//    large chunks become the base heap's, as the commit adopted its regions); an aborted task's
//    is forgotten, its regions gone with it. Then the committed tasks' deferred frees are
//    applied in spec order.
//  - understudy_init: every heap goes back whole, and the copy runs in SEQ.
//
// The census (walk_region/walk_free) sees the private heaps as what they are in memory: in the
// parent mid-group each heap is one Free chunk that walk_free reaches through the carve list;
// in a task its own heap's chunks are Live or Free, the free ones reached through its arena, and
// its growth heap's segments and large regions are regions of the task, its free chunks reached
// through the growth heap's bins and top.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "alloc/census.h"
#include "alloc/dlheap.h"
#include "alloc/probes.h"
#include "alloc/malloc_helpers.h"
#include "alloc/memory.h"

namespace pprsim {

namespace co {
// The first group's private heaps, before any demand was seen.
inline constexpr std::uint64_t kInitialEstimate = std::uint64_t{4} << 10;
inline constexpr std::uint64_t kMinEstimate = std::uint64_t{512};
// No private heap is larger than this; a task that needs more grows in its slice.
inline constexpr std::uint64_t kMaxHeap = std::uint64_t{16} << 20;
}  // namespace co

template <Memory Mem>
class CoMalloc {
 public:
  explicit CoMalloc(Mem* mem) : mem_(mem), base_(mem), priv_(mem), growth_(mem) {}

  // Points this copy of the allocator at another process's memory (after a fork).
  void bind(Mem* mem) {
    mem_ = mem;
    base_.bind(mem);
    priv_.bind(mem);
    growth_.bind(mem);
  }

  // ---- The C API. A return of 0 means the request failed; in a task, check gave_up(). ----

  Addr malloc(std::uint64_t n) {
    if (mode_ == Mode::Seq) {
      probe(mem_, CoProbe::SeqCall);
      return base_.malloc(n);
    }
    if (gave_up_ || n > dl::kMaxRequest) return 0;
    if (const Addr p = priv_.malloc(n); p != 0) {
      probe(mem_, CoProbe::TaskPrivate);
      return counted(priv_, p);
    }
    if (const Addr p = growth_.malloc(n); p != 0) {
      probe(mem_, CoProbe::TaskGrowth);
      return counted(growth_, p);
    }
    return rescue(dl::request_to_size(n));
  }

  Addr calloc(std::uint64_t count, std::uint64_t size) {
    probe(mem_, mode_ == Mode::Task ? CoProbe::CallocTask : CoProbe::CallocSeq);
    return zeroed_malloc(*this, *mem_, count, size, dl::kMaxRequest);
  }

  // requires: align is a power of two (else 0 is returned).
  Addr memalign(std::uint64_t align, std::uint64_t n) {
    if (mode_ == Mode::Seq) return base_.memalign(align, n);
    if (gave_up_ || !valid_alignment(align)) return 0;
    if (n > dl::kMaxRequest || align > dl::kMaxRequest) return 0;
    probe(mem_, CoProbe::TaskMemalign);
    if (const Addr p = priv_.memalign(align, n); p != 0) return counted(priv_, p);
    if (const Addr p = growth_.memalign(align, n); p != 0) return counted(growth_, p);
    return rescue(dl::request_to_size(n) + align + dl::kMinChunk);
  }

  // realloc(0, n) = malloc(n); realloc(p, 0) = free(p) and returns 0.
  Addr realloc(Addr p, std::uint64_t n) {
    if (mode_ == Mode::Seq) return base_.realloc(p, n);
    if (p == 0) return malloc(n);
    if (n == 0) {
      free(p);
      return 0;
    }
    if (gave_up_ || n > dl::kMaxRequest) return 0;
    if (mine(p) || grown(p)) {
      DlHeap<Mem>& heap = mine(p) ? priv_ : growth_;
      const std::uint64_t before = heap.usable_size(p);
      const Addr q = heap.realloc(p, n);
      if (q == 0) {
        // The private heap cannot hold it: the object moves to the growth heap.
        if (&heap == &growth_) return rescue(dl::request_to_size(n));
        const Addr r = growth_.malloc(n);
        if (r == 0) return rescue(dl::request_to_size(n));
        probe(mem_, CoProbe::TaskReallocToGrowth);
        mem_->copy(r, p, std::min(before, n));
        priv_.free(p);
        return counted(growth_, r);
      }
      probe(mem_, CoProbe::TaskReallocPrivate);
      const std::uint64_t after = heap.usable_size(q);
      if (q != p) {
        task_bytes_ += after + dl::kHeader;
      } else if (after > before) {
        task_bytes_ += after - before;
      }
      return q;
    }
    // A block of the base heap is never resized in place, not even inside its own slack: the
    // object moves to the task's heaps and the old block's free is deferred. (Growing inside
    // the slack would write bytes that a later task, whose view of the object is shorter,
    // reads as mere slack when it copies the block for its own realloc.)
    const std::uint64_t old = base_.usable_size(p);
    if (old == 0) {
      ++invalid_frees_;
      return 0;
    }
    const Addr q = malloc(n);
    if (q == 0) return 0;
    probe(mem_, CoProbe::TaskReallocBase);
    mem_->copy(q, p, std::min(old, n));
    deferred_.push_back(p);
    return q;
  }

  void free(Addr p) {
    if (mode_ == Mode::Seq) {
      base_.free(p);
      return;
    }
    if (p == 0) return;
    if (mine(p)) {
      probe(mem_, CoProbe::FreePrivate);
      priv_.free(p);
    } else if (grown(p)) {
      probe(mem_, CoProbe::FreeGrowth);
      growth_.free(p);  // an invalid free of its memory is counted there
    } else if (base_.owns(p)) {
      probe(mem_, CoProbe::DeferredFree);
      deferred_.push_back(p);
    } else {
      ++invalid_frees_;
    }
  }

  std::uint64_t usable_size(Addr p) {
    if (p == 0) return 0;
    if (mine(p)) return priv_.usable_size(p);
    return grown(p) ? growth_.usable_size(p) : base_.usable_size(p);
  }

  // ---- PPR hooks (docs/DESIGN.md sections 1 and 2; the contracts of alloc/dmmalloc.h). ----

  // In the parent, before the fork: one private heap per task, carved from the base heap
  // (growing it from system memory if needed). Returns false, with nothing carved, when the
  // base heap cannot provide them.
  bool group_init(int g) {
    if (mode_ != Mode::Seq || g < 1) return false;
    if (!carve_.empty()) understudy_init();  // a group that was never merged: take its heaps back
    reserved_ = 0;
    const std::uint64_t q = quota();
    for (int k = 0; k < g; ++k) {
      const Addr c = base_.take_chunk(q);
      if (c == 0) {
        probe(mem_, CoProbe::CarveRefused);
        return_heaps({}, 0);
        carve_.clear();
        reserved_ = 0;
        return false;
      }
      const std::uint64_t size = base_.chunk_size(c);
      mem_->store64(c, dl::head_word(dl::Kind::Chunk, size, dl::kPInUse | dl::kPrivate));
      carve_.push_back(Heap{c, size});
      reserved_ += size;
    }
    probe(mem_, CoProbe::Carve);
    return true;
  }

  // In task k's copy, after the fork.
  void task_init(int k) {
    const Heap& h = carve_[static_cast<std::size_t>(k)];
    mode_ = Mode::Task;
    task_ = k;
    priv_ = DlHeap<Mem>::arena(mem_, h.start, h.size);
    growth_ = DlHeap<Mem>::slice(mem_);
    deferred_.clear();
    task_bytes_ = 0;
    gave_up_ = false;
    need_ = 0;
  }

  // In the understudy's copy (and for any sequential re-execution from the group's start):
  // every private heap goes back to the base heap, and the copy runs in SEQ.
  void understudy_init() {
    if (!carve_.empty()) probe(mem_, CoProbe::UnderstudyReturn);
    return_heaps({}, 0);
    reset_group_state();
  }

  // On the surviving copy (the last committed task's), bound to the committed memory:
  // tasks[0, committed) committed in order, the rest were aborted.
  void merge(std::span<const CoMalloc* const> tasks, std::size_t committed) {
    return_heaps(tasks, committed);
    for (std::size_t k = 0; k < committed && k < tasks.size(); ++k) {
      if (tasks[k]->growth_.obtained_bytes() != 0) probe(mem_, CoProbe::MergeAdopt);
      base_.adopt(tasks[k]->growth_);
    }
    for (std::size_t k = 0; k < committed && k < tasks.size(); ++k) {
      for (const Addr p : tasks[k]->deferred_) {
        probe(mem_, CoProbe::MergeDeferred);
        base_.free(p);
      }
    }
    reset_group_state();
  }

  // On the surviving copy, whatever the outcome: the next group's heaps are sized from the
  // tasks' demand: the memory a task used (its private heap's peak plus what it used of its
  // growth heap), averaged over the group's tasks, or twice what a task needed when it gave up,
  // whichever is more; an estimate that halves per group as demand falls. A task that needs
  // more than its heap grows in its slice, so the heap need not hold the busiest task's work.
  // Large objects in regions of their own are no demand: they get such regions again.
  void learn(std::span<const CoMalloc* const> tasks) {
    if (tasks.empty()) return;
    std::uint64_t sum = 0, gave_up = 0;
    for (const CoMalloc* t : tasks) {
      sum += t->priv_.peak_used() + t->growth_.peak_used();
      gave_up = std::max(gave_up, 2 * t->need_);
    }
    const std::uint64_t demand = std::max(sum / tasks.size(), gave_up);
    estimate_ = std::clamp(std::max(demand, estimate_ / 2), co::kMinEstimate, co::kMaxHeap);
  }

  // A task's state as bytes (alloc/co/task_state.h): what merge() and learn() read of it,
  // exported in the task (the bytes needed; nothing written when more than cap) and imported
  // into a fresh copy as task k's (false when the bytes are not task k's state).
  std::size_t export_task_state(void* buf, std::size_t cap) const;
  bool import_task_state(const void* buf, std::size_t n, std::size_t k);

  // ---- Observation. ----

  bool gave_up() const { return gave_up_; }
  std::uint64_t reserved_bytes() const { return reserved_; }
  std::uint64_t task_allocated_bytes() const { return task_bytes_; }
  // System memory this task obtained from its slice (its growth heap's segments and regions).
  std::uint64_t task_grown_bytes() const { return growth_.obtained_bytes(); }
  std::uint64_t invalid_frees() const {
    return invalid_frees_ + base_.invalid_frees() + priv_.invalid_frees() + growth_.invalid_frees();
  }
  // [start, start + size) of task k's private heap in the current group.
  std::pair<Addr, std::uint64_t> heap_of(int k) const {
    const Heap& h = carve_.at(static_cast<std::size_t>(k));
    return {h.start, h.size};
  }
  std::size_t carved() const { return carve_.size(); }
  DlHeap<Mem>& base() { return base_; }
  // This task's growth heap (empty outside a task).
  DlHeap<Mem>& growth() { return growth_; }

  // Walks the chunks of one system region in address order (private heaps included; a growth
  // heap's segments and large regions have the base heap's format).
  template <class Visit>
  bool walk_region(Addr base, std::uint64_t size, Visit&& visit) {
    return base_.walk_region(base, size, visit);
  }

  // Visits the base heap's bins and top, every private heap that is as carved, and in a task
  // its own heap's free chunks and its growth heap's bins and top; at most `max_steps` links
  // per list.
  template <class Visit>
  void walk_free(std::uint64_t max_steps, Visit&& visit) {
    base_.walk_free(max_steps, visit);
    for (std::size_t k = 0; k < carve_.size(); ++k) {
      if (mode_ == Mode::Task && static_cast<int>(k) == task_) continue;
      visit(FreeEntry{carve_[k].start, -1});
    }
    if (mode_ == Mode::Task) {
      priv_.walk_free(max_steps, visit);
      growth_.walk_free(max_steps, visit);
    }
  }

  // What allocator structure holds address `a` of the region [base, base + size).
  std::string describe(Addr base, std::uint64_t size, Addr a) {
    const auto [c, h] = base_.find_chunk(base, size, a);
    if (c == 0) return fmt::format("allocator memory at {:#x}", a);
    if (growth_.holds(a)) return fmt::format("growth heap of task {}: {}", task_, growth_.describe_chunk(c, h, a));
    for (std::size_t k = 0; k < carve_.size(); ++k) {
      const Heap& heap = carve_[k];
      if (a < heap.start || a >= heap.start + heap.size) continue;
      if (mode_ == Mode::Task && static_cast<int>(k) == task_) {
        return fmt::format("private heap of task {}: {}", k, priv_.describe_chunk(c, h, a));
      }
      if (a - heap.start < 8) {
        return fmt::format("private heap of task {} at {:#x} ({} B, as carved): size/flags word",
                           k, heap.start, heap.size);
      }
      return fmt::format("private heap of task {} at {:#x} ({} B, as carved): free space", k,
                         heap.start, heap.size);
    }
    return base_.describe_chunk(c, h, a);
  }

  // The allocator's own invariants (alloc/ppr_allocator.h), in whatever state this copy is:
  //  - the private heaps are disjoint, and each is one chunk of the base heap's walk;
  //  - the base heap holds (DlHeap::verify): segments tile into valid chunks ended by their
  //    fence, neighbours' in-use bits agree, footers match, no two free chunks are neighbours,
  //    the chunk walk and the bins agree (every free chunk but the top in its right bin exactly
  //    once, bins well linked, large bins sorted, the bitmap matching), no private bit outside
  //    the private heaps;
  //  - every private heap but a task's own is exactly as carved: one free chunk with the
  //    private bit, of the carved size;
  //  - in a task: its own heap holds DlHeap's invariants as an arena (every header with the
  //    private bit), its growth heap holds them as a heap of its own (its segments tile, its
  //    bins and top agree with them, its large regions hold large chunks), and each deferred
  //    free names a distinct live block of the base heap.
  // Returns "" or the first broken invariant.
  std::string verify() {
    std::vector<std::pair<Addr, std::uint64_t>> heaps;
    for (const Heap& h : carve_) heaps.emplace_back(h.start, h.size);
    std::sort(heaps.begin(), heaps.end());
    for (std::size_t i = 1; i < heaps.size(); ++i) {
      if (heaps[i].first < heaps[i - 1].first + heaps[i - 1].second) {
        return fmt::format("private heaps at {:#x} and {:#x} overlap", heaps[i - 1].first, heaps[i].first);
      }
    }
    if (std::string e = base_.verify(heaps); !e.empty()) return "base heap: " + e;
    for (std::size_t k = 0; k < carve_.size(); ++k) {
      if (mode_ == Mode::Task && static_cast<int>(k) == task_) continue;
      const Heap& heap = carve_[k];
      const std::uint64_t h = mem_->load64(heap.start);
      if ((h & ~dl::kPInUse) != dl::head_word(dl::Kind::Chunk, heap.size, dl::kPrivate)) {
        return fmt::format("private heap of task {} at {:#x} is not as carved (head {:#x})", k, heap.start, h);
      }
    }
    if (mode_ == Mode::Task) {
      if (std::string e = priv_.verify(); !e.empty()) return fmt::format("private heap of task {}: {}", task_, e);
      if (std::string e = growth_.verify(); !e.empty()) return fmt::format("growth heap of task {}: {}", task_, e);
      std::vector<Addr> deferred = deferred_;
      std::sort(deferred.begin(), deferred.end());
      for (std::size_t i = 0; i < deferred.size(); ++i) {
        if (i > 0 && deferred[i] == deferred[i - 1]) return fmt::format("{:#x} is deferred twice", deferred[i]);
        if (grown(deferred[i]) || !base_.owns(deferred[i])) {
          return fmt::format("deferred free of {:#x}, which is no live block of the base heap", deferred[i]);
        }
      }
    }
    return "";
  }

 private:
  enum class Mode : std::uint8_t { Seq, Task };
  struct Heap {
    Addr start;
    std::uint64_t size;
  };

  std::uint64_t quota() const {
    return std::min(co::kMaxHeap, round_up(estimate_, 64));
  }

  // Whether p is a block of this task's private heap: the header's private bit (O(1)) and the
  // range.
  bool mine(Addr p) {
    if (mode_ != Mode::Task || p < priv_.arena_start() + dl::kHeader || p >= priv_.arena_limit() ||
        (p & 15) != 0) {
      return false;
    }
    return (mem_->load64(p - dl::kHeader) & dl::kPrivate) != 0;
  }

  // Whether p lies in this task's growth heap (its segments or large regions).
  bool grown(Addr p) const { return mode_ == Mode::Task && growth_.holds(p); }

  // Counts the new block p of `heap` as task allocation; returns p.
  Addr counted(DlHeap<Mem>& heap, Addr p) {
    task_bytes_ += heap.usable_size(p) + dl::kHeader;
    return p;
  }

  Addr rescue(std::uint64_t chunk_bytes) {
    probe(mem_, CoProbe::Rescue);
    gave_up_ = true;
    need_ = priv_.used() + growth_.used() + chunk_bytes;
    return 0;
  }

  // Gives every carved heap back to the base heap: tasks[k] for k < committed as its task left
  // it (live chunks stay, as base-heap chunks), the others whole. First every heap is rewritten
  // as in-use base-heap chunks, so that no chunk with the private bit is left when the free
  // space is then freed (and coalesced) into the base heap.
  void return_heaps(std::span<const CoMalloc* const> tasks, std::size_t committed) {
    std::vector<Addr> runs;
    for (std::size_t k = 0; k < carve_.size(); ++k) {
      const Heap& heap = carve_[k];
      if (k < committed && k < tasks.size()) {
        probe(mem_, CoProbe::MergeCommitted);
        convert(heap, runs);
      } else {
        if (!tasks.empty()) probe(mem_, CoProbe::MergeAborted);
        // As carved. Its previous-in-use bit is the base heap's to keep (it is set at carve
        // time; only sequential frees between carve and now could have cleared it).
        mark_in_use(heap.start, heap.size, mem_->load64(heap.start) & dl::kPInUse);
        runs.push_back(heap.start);
      }
    }
    for (const Addr r : runs) base_.release_chunk(r);
  }

  // Rewrites a committed heap's chunks as in-use base-heap chunks; each run of free chunks
  // becomes one chunk, recorded in `runs`.
  void convert(const Heap& heap, std::vector<Addr>& runs) {
    const Addr end = heap.start + heap.size;
    Addr a = heap.start;
    Addr run = 0;
    while (a < end) {
      const std::uint64_t h = mem_->load64(a);
      const std::uint64_t sz = dl::size_of(h);
      if (!dl::valid(h) || dl::kind(h) != dl::Kind::Chunk || (h & dl::kPrivate) == 0 ||
          sz < dl::kMinChunk || sz > end - a) {
        break;  // a corrupted heap: left as it is, for the census to report
      }
      if (dl::in_use(h)) {
        if (run != 0) {
          mark_in_use(run, a - run, dl::kPInUse);
          runs.push_back(run);
          run = 0;
        }
        mem_->store64(a, (h & ~dl::kPrivate) | dl::kPInUse);
      } else if (run == 0) {
        run = a;
      }
      a += sz;
    }
    if (run != 0 && a == end) {
      mark_in_use(run, end - run, dl::kPInUse);
      runs.push_back(run);
    }
  }

  void mark_in_use(Addr c, std::uint64_t size, std::uint64_t pinuse) {
    mem_->store64(c, dl::head_word(dl::Kind::Chunk, size, dl::kCInUse | pinuse));
    mem_->store64(c + 8, dl::kLiveTag);
  }

  void reset_group_state() {
    carve_.clear();
    deferred_.clear();
    mode_ = Mode::Seq;
    task_ = -1;
    priv_ = DlHeap<Mem>(mem_);
    growth_ = DlHeap<Mem>(mem_);
    gave_up_ = false;
    need_ = 0;
    task_bytes_ = 0;
  }

  Mem* mem_;
  DlHeap<Mem> base_;
  // Group state: the heaps as carved, this task's heap, its deferred frees.
  std::vector<Heap> carve_;
  DlHeap<Mem> priv_;
  DlHeap<Mem> growth_;  // in a task: what it grew in its slice
  std::vector<Addr> deferred_;
  Mode mode_ = Mode::Seq;
  int task_ = -1;
  bool gave_up_ = false;
  std::uint64_t need_ = 0;  // after a rescue: the private heap size the task needed
  // Heap sizing and statistics.
  std::uint64_t estimate_ = co::kInitialEstimate;
  std::uint64_t task_bytes_ = 0;
  std::uint64_t reserved_ = 0;
  std::uint64_t invalid_frees_ = 0;
};

}  // namespace pprsim

#include "alloc/co/task_state.h"  // IWYU pragma: export
