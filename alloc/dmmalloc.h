// dmmalloc: Divide & Merge malloc. A size-class allocator (16-byte steps up to 128 bytes, four
// classes per doubling above; inside tasks, powers of two up to a page: alloc/dm/layout.h) with
// an in-band header
// that stays correct inside speculative PPR tasks: at group start the free lists are divided
// among the tasks (carve), a task allocates and splits only inside its own partition, frees of
// blocks it does not own are deferred, and at commit the partitions and deferred frees are
// merged back. One source for native and simulated memory (a template over `Memory`).
//
// Its census walks and describe() are in alloc/dm/census.h, its invariants check in
// alloc/dm/verify.h, the join of free neighbours before the heap grows in alloc/dm/join.h, its
// layout constants in alloc/dm/layout.h.
//
// Block layout (block sizes are the size classes below, 32 B .. 256 KiB, tiling 256 KiB chunks):
//   +0  word0: magic | flags | size class
//   +8  word1: free: next block on the free list; live: owner tag (group serial, task + 1)
//   +16 payload (16-byte aligned)
// The rest of the newest chunk (the top) is one piece with a header of its own; an object grown
// into it (realloc) and freed while it still ends where the top begins goes back into it:
//   +0  word0: magic | top                +8 word1: its size (to the chunk's end)
// Objects above the largest class get a region of their own from system memory:
//   +0  word0: magic | live | large      +8 word1: region size      +16 payload
// A freed region is kept for the next large object (up to dm::kCachedRegions of them, at most
// dm::kCacheBytes in all) with the live bit clear: mapping and faulting in a fresh region for
// every large object cost more than the object's own work (realloc-bal, random-bal).
// An aligned allocation whose address is not the payload puts a 16-byte shim header just below
// it: word0 = magic | live | shim, word1 = distance from the block start to the shim.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "alloc/census.h"
#include "alloc/dm/kept_regions.h"
#include "alloc/dm/layout.h"
#include "alloc/malloc_helpers.h"
#include "alloc/memory.h"
#include "alloc/probes.h"

namespace pprsim {


template <Memory Mem>
class DmMalloc {
 public:
  explicit DmMalloc(Mem* mem) : mem_(mem) {}

  // Points this copy of the allocator at another process's memory (after a fork).
  void bind(Mem* mem) { mem_ = mem; }

  // ---- The C API. A return of 0 means the request failed; in a task, check gave_up(). ----

  Addr malloc(std::uint64_t n) {
    if (mode_ == Mode::Seq && n <= dm::kTopBlock - dm::kHeader) {  // the fast path: a listed block
      const int c = dm::class_of(n);
      if (global_[ci(c)].head != 0) {
        const Addr b = pop(global_[ci(c)]);
        set_live(b, c, 0);
        probe(mem_, DmProbe::FastMalloc);
        return b + dm::kHeader;
      }
    }
    return malloc_slow(n);
  }

  // Everything malloc's fast path does not serve; out of line, so that the fast path is small
  // enough to inline into its callers.
  [[gnu::noinline]] Addr malloc_slow(std::uint64_t n) {
    if (gave_up_) return 0;
    if (n > dm::kMaxRequest) return 0;
    int c = dm::class_of(n);
    if (c == dm::kClasses) return large_alloc(n);
    Addr b = 0;
    if (mode_ == Mode::Task) {
      c = dm::task_class(c);  // the carve hands out only these (alloc/dm/layout.h)
      b = pop_or_split(mine_, c, DmProbe::TaskPop, DmProbe::TaskSplit);
      if (b == 0 && dm::class_size(c) >= dm::kTaskRegionBlock) {
        // Out of partition memory for a block this large: a region of the object's own size,
        // which goes back to the system when the object is freed. A grown block would stay on
        // the free lists after the commit, for nobody.
        const Addr p = map_large(n, true);
        if (p != 0) probe(mem_, DmProbe::TaskRegion);
        return p != 0 ? p : rescue(c);
      }
      if (b == 0 && grow_task(c)) b = pop_or_split(mine_, c, DmProbe::TaskPop, DmProbe::TaskSplit);
      if (b == 0) return rescue(c);
      took(c);
    } else {
      b = take_shared(c);
      if (b == 0) return 0;
    }
    set_live(b, c, tag());
    return b + dm::kHeader;
  }

  Addr calloc(std::uint64_t count, std::uint64_t size) {
    probe(mem_, mode_ == Mode::Task ? DmProbe::CallocTask : DmProbe::CallocSeq);
    return zeroed_malloc(*this, *mem_, count, size, dm::kMaxRequest);
  }

  // requires: align is a power of two (else 0 is returned).
  Addr memalign(std::uint64_t align, std::uint64_t n) {
    if (!valid_alignment(align)) return 0;
    if (align <= dm::kHeader) return malloc(n);
    if (n > dm::kMaxRequest || align > dm::kMaxRequest) return 0;
    // The aligned address may lie up to align - 16 bytes into the payload; one byte more keeps
    // even a zero-byte object inside its block.
    const Addr p = malloc(std::max<std::uint64_t>(n, 1) + align - dm::kHeader);
    return p == 0 ? 0 : align_within(p, align);
  }

  // The `align`-aligned address in the object at p, which malloc sized for it; a shim header
  // below it leads back to the block.
  Addr align_within(Addr p, std::uint64_t align) {
    const Addr q = round_up(p, align);
    if (q == p) return p;
    probe(mem_, DmProbe::MemalignShim);
    mem_->store64(q - dm::kHeader, dm::kMagic | dm::kLive | dm::kShim);
    mem_->store64(q - dm::kHeader + 8, q - dm::kHeader - (p - dm::kHeader));
    return q;
  }

  Addr realloc(Addr p, std::uint64_t n) {
    if (p == 0) return malloc(n);
    if (n == 0) {
      free(p);
      return 0;
    }
    const std::uint64_t old = usable_size(p);
    if (n <= old) {
      probe(mem_, DmProbe::ReallocInPlace);
      return p;
    }
    if (grow_into_top(p, n)) {
      probe(mem_, DmProbe::ReallocIntoTop);
      return p;
    }
    const std::uint64_t ahead = dm::growth_request(old, n);
    if (const Addr q = grow_large(p, ahead); q != 0) {
      probe(mem_, DmProbe::ReallocGrowRegion);
      return q;
    }
    Addr q = region_for_growth(ahead);
    bool to_region = q != 0;  // the object leaves the heap's blocks for a region of its own
    if (to_region) probe(mem_, DmProbe::ReallocToRegion);
    if (q == 0 && ahead > n && (q = malloc(ahead)) != 0) to_region = dm::class_of(ahead) == dm::kClasses;
    if (q == 0 && (q = malloc(n)) != 0) to_region = dm::class_of(n) == dm::kClasses;
    if (q == 0) return 0;
    probe(mem_, DmProbe::ReallocMove);
    mem_->copy(q, p, std::min(old, n));
    free(p);
    if (to_region) idle_left_behind(p - dm::kHeader, old + dm::kHeader);
    return q;
  }

  void free(Addr p) {
    if (p == 0) return;
    if (mode_ == Mode::Seq && p >= dm::kHeader && (p & 15) == 0) {  // the fast path: a live block
      const std::uint64_t w0 = mem_->load64(p - dm::kHeader);
      if (small_live_header(w0 & ~dm::kGrown)) {
        const int c = static_cast<int>(class_index(w0));
        if ((w0 & dm::kGrown) != 0 && p - dm::kHeader == grown_block_ && rejoin_top(grown_block_, c)) return;
        push(global_, c, p - dm::kHeader);
        probe(mem_, DmProbe::FastFree);
        return;
      }
    }
    free_slow(p);
  }

  // Everything free's fast path does not serve (tasks, large regions, shims, invalid pointers).
  [[gnu::noinline]] void free_slow(Addr p) {
    const Addr b = block_of(p);
    if (b == 0) {
      ++invalid_frees_;
      return;
    }
    const std::uint64_t w0 = mem_->load64(b);
    if (mode_ == Mode::Task) {
      // O(1) ownership: only blocks carrying this task's tag were allocated here.
      if ((w0 & dm::kLarge) == 0 && mem_->load64(b + 8) == tag()) {
        push(mine_, static_cast<int>(class_index(w0)), b);
        probe(mem_, DmProbe::TaskFreeOwn);
        std::uint32_t& h = held_[class_index(w0)];
        if (h > 0) --h;
      } else if ((w0 & dm::kLarge) != 0 && forget_task_region(b)) {
        // A region this task mapped in its own slice: nobody else can hold it, so it goes
        // back to the system now rather than at the commit.
        probe(mem_, DmProbe::TaskFreeOwnRegion);
        mem_->sys_free(b, mem_->load64(b + 8));
      } else {
        probe(mem_, DmProbe::DeferredFree);
        deferred_.push_back(b);
      }
      return;
    }
    release(b, w0);
  }

  std::uint64_t usable_size(Addr p) {
    if (p == 0) return 0;
    const Addr b = block_of(p);
    if (b == 0) return 0;
    const std::uint64_t w0 = mem_->load64(b);
    const std::uint64_t end = b + block_size(b, w0);
    return end - p;
  }

  // ---- PPR hooks (docs/DESIGN.md sections 1 and 2). ----

  // In the parent, before the fork: make sure every class holds enough free blocks for `g`
  // tasks, growing from system memory first, then divide them into g partitions.
  // Returns false, with the partitions not made, when system memory refuses to grow.
  bool group_init(int g) {
    reserved_ = 0;
    for (int c = 0; c < dm::kClasses; ++c) {
      const std::uint64_t need = static_cast<std::uint64_t>(g) * quota(c);
      while (global_[ci(c)].count < need) {
        const Addr b = cut_shared(c, false);  // a join would take back what this loop listed
        if (b == 0) {
          probe(mem_, DmProbe::CarveRefused);
          return false;
        }
        probe(mem_, DmProbe::CarveGrow);
        push(global_, c, b);
      }
    }
    const Shares share = task_shares(g);
    probe(mem_, DmProbe::Carve);
    carve_.assign(static_cast<std::size_t>(g), Lists{});
    for (auto& part : carve_) {
      for (int c = 0; c < dm::kClasses; ++c) {
        part[ci(c)] = take_segment(global_[ci(c)], share[ci(c)]);
        reserved_ += part[ci(c)].count * dm::class_size(c);
      }
    }
    ++serial_;
    return true;
  }

  // In task k's copy, after the fork.
  void task_init(int k) {
    mode_ = Mode::Task;
    task_ = k;
    mine_ = carve_[static_cast<std::size_t>(k)];
    deferred_.clear();
    taken_ = {};
    held_ = {};
    task_bytes_ = 0;
    gave_up_ = false;
    rescue_class_ = -1;
    grown_ = 0;
    task_grow_ = kPageSize;
    task_regions_.clear();
  }

  // In the understudy's copy (and for any sequential re-execution from the group's start):
  // the partitions go back to the free lists, and it allocates from all of them.
  void understudy_init() {
    if (!carve_.empty()) probe(mem_, DmProbe::UnderstudyReturn);
    for (auto& part : carve_) {
      for (int c = 0; c < dm::kClasses; ++c) splice_shared(c, part[ci(c)]);
    }
    reset_group_state();
  }

  // On the surviving copy (the last committed task's), bound to the committed memory:
  // tasks[0, committed) committed in order, the rest were aborted (their memory writes are gone,
  // so their partitions are exactly as carved). Every unused partition block, every block freed
  // locally and every deferred free returns to the free lists.
  void merge(std::span<const DmMalloc* const> tasks, std::size_t committed) {
    for (std::size_t k = 0; k < carve_.size(); ++k) {
      const Lists& rest = k < committed ? tasks[k]->mine_ : carve_[k];
      probe(mem_, k < committed ? DmProbe::MergeCommitted : DmProbe::MergeAborted);
      if (k < committed && tasks[k]->grown_ != 0) probe(mem_, DmProbe::MergeAdopt);
      for (int c = 0; c < dm::kClasses; ++c) splice_shared(c, rest[ci(c)]);
    }
    for (std::size_t k = 0; k < committed; ++k) {
      for (const Addr b : tasks[k]->deferred_) {
        const std::uint64_t w0 = mem_->load64(b);
        probe(mem_, (w0 & dm::kLarge) != 0 ? DmProbe::MergeDeferredRegion : DmProbe::MergeDeferred);
        release(b, w0);
      }
    }
    reset_group_state();
  }

  // On the surviving copy, whatever the outcome: learn from the tasks' demand how much to
  // carve for the next group: per class, the blocks a task held at once at most (a block it
  // freed and took again counts once), averaged over the group's tasks; an estimate that
  // halves per group when demand falls (down to nothing for a class no task uses any more).
  // A task that needs more than its share grows in its own slice, so the carve need not cover
  // the busiest task; a class a task gave up on (its slice refused) is doubled.
  void learn(std::span<const DmMalloc* const> tasks) {
    for (int c = 0; c < dm::kClasses; ++c) {
      std::uint64_t sum = 0;
      std::uint32_t most = 0;
      for (const DmMalloc* t : tasks) {
        sum += t->taken_[ci(c)];
        most = std::max(most, t->taken_[ci(c)]);
      }
      // Rounded up for blocks of at most a page (a block too few would cost a growth), to the
      // nearest for larger ones (one task's single large block is not worth G of them).
      const std::uint64_t n = tasks.size();
      const auto demand = static_cast<std::uint32_t>(
          n == 0 ? 0 : (sum + (dm::class_size(c) <= kPageSize ? n - 1 : n / 2)) / n);
      std::uint32_t& e = estimate_[ci(c)];
      e = std::max(demand, e / 2);
      std::uint32_t& m = most_[ci(c)];
      // A class tasks once used keeps a block per task (of what is free anyway, task_shares):
      // its next user takes that instead of growing memory that the commit adopts and that
      // then sits on the free lists. With halving here, a 3M-event trace's heap grew by 33 KiB
      // per group without bound (110 MB at 800k events against 768 KiB sequentially).
      m = std::max(most, m - m / 4);
    }
    std::uint64_t bytes = 0;
    for (const DmMalloc* t : tasks) bytes += t->task_bytes_;
    spare_budget_ = std::max(tasks.empty() ? 0 : bytes / tasks.size(), spare_budget_ / 2);
    for (const DmMalloc* t : tasks) {
      if (t->rescue_class_ >= 0 && t->rescue_class_ < dm::kClasses) {
        probe(mem_, DmProbe::LearnRescue);
        std::uint32_t& e = estimate_[ci(t->rescue_class_)];
        e = std::max<std::uint32_t>(2, std::min<std::uint32_t>(e * 2, 1u << 16));
      }
    }
  }

  // ---- Observation. ----

  bool gave_up() const { return gave_up_; }
  std::uint64_t reserved_bytes() const { return reserved_; }
  std::uint64_t task_allocated_bytes() const { return task_bytes_; }
  std::uint64_t task_grown_bytes() const { return grown_; }
  std::uint64_t invalid_frees() const { return invalid_frees_; }

  // Walks the blocks of one system region in address order. Stops at the first invalid header
  // (reported as one Corrupt piece up to the region's end) and returns false then.
  template <class Visit>
  bool walk_region(Addr base, std::uint64_t size, Visit&& visit);

  // Visits every block its free lists (and partitions) reach; a list is followed for at most
  // `max_steps` links, so a cycle in a corrupted heap cannot hang the walk.
  template <class Visit>
  void walk_free(std::uint64_t max_steps, Visit&& visit);

  // What allocator structure holds address `a` of the region [base, base + size).
  std::string describe(Addr base, std::uint64_t size, Addr a);

  // The allocator's own invariants (alloc/ppr_allocator.h), in whatever state this copy is:
  //  - every free list (the shared lists, each partition as carved, a task's own partition)
  //    is well formed: head, tail and count agree, exactly `count` links lead from head to
  //    tail, and the tail's link is 0;
  //  - every block a list reaches has a valid free header of that list's class, 16-aligned;
  //  - the lists are disjoint: no block is on two lists, or twice on one (partitions disjoint);
  //  - in a task: each deferred free names a distinct live block that is not on a list, and is
  //    large or carries another owner's tag (a block of this task's own is freed at once).
  // Returns "" or the first broken invariant.
  std::string verify();

  // ---- Joining free neighbours (alloc/dm/join.h) ----
  // Outside groups, before the heap grows: whether the shared lists hold enough free memory
  // for a join to be worth its walk, and the join itself (true when it joined any blocks).
  // `more`: bytes about to join the lists (a drop-in thread cache given back first).
  // The join walks the newest dm::kJoinChunks chunks; the trim's (`trimming`) walks them all,
  // and gives the pages of each joined run that does not go back to the top back to the system
  // (Memory::sys_idle) before it is tiled again.
  bool join_due(std::uint64_t more = 0) const;
  bool join_free_blocks(bool trimming = false);
  // Bytes on the shared lists.
  std::uint64_t listed_bytes() const;

  // ---- Giving free memory back while the heap is not growing (alloc/dm/trim.h) ----
  // Outside groups: whether the shared lists, with `more` bytes about to join them, hold enough
  // free memory since the last trim for one to be worth its walks; and the trim itself (joins
  // free neighbours, idles the pages of large free blocks and of the top).
  bool trim_due(std::uint64_t more = 0);
  void trim();

  // ---- A task's group state as bytes, for tasks that are processes (alloc/dm/task_state.h) ----
  // In a task: writes what merge() and learn() read of it into buf (at most cap bytes), with
  // `extra` riding along; returns the bytes it needs (nothing written when more than cap).
  std::size_t export_task_state(void* buf, std::size_t cap, std::uint64_t extra = 0) const;
  // Into a fresh copy, in the process that merges: task k's state exported in group `serial`.
  // False (nothing usable) when the bytes are not such a state.
  bool import_task_state(const void* buf, std::size_t n, std::uint64_t serial, std::size_t k,
                         std::uint64_t* extra = nullptr);
  std::uint64_t group_serial() const { return serial_; }

 protected:
  // Protected rather than private so that the seeded-bug variants of alloc/mutants.h can be
  // written as subclasses; nothing else derives from DmMalloc.
  enum class Mode : std::uint8_t { Seq, Task };
  struct List {
    Addr head = 0;
    Addr tail = 0;
    std::uint64_t count = 0;
  };
  using Lists = std::array<List, dm::kClasses>;

  static constexpr std::size_t ci(int c) { return static_cast<std::size_t>(c); }
  static std::size_t class_index(std::uint64_t w0) { return w0 & dm::kClassMask; }

  std::uint64_t tag() const {
    return mode_ == Mode::Task ? (serial_ << 8) | static_cast<std::uint64_t>(task_ + 1) : 0;
  }

  // Blocks of each class one task gets at the next carve of g tasks: its quota, and more of
  // what the free lists hold anyway, up to what the busiest task held, smallest classes first,
  // for at most as many bytes again as an average task allocated. Free blocks cost no memory to
  // hand out, and a task that has them need not grow: without them, what busy tasks grew and
  // the commit adopted piled up on the free lists, unused, group after group.
  using Shares = std::array<std::uint64_t, dm::kClasses>;
  Shares task_shares(int g) const {
    Shares share{};
    std::uint64_t budget = spare_budget_;
    for (int c = 0; c < dm::kClasses; ++c) {
      const std::uint64_t q = quota(c);
      const std::uint64_t most = most_[ci(c)] + most_[ci(c)] / 4;
      const std::uint64_t spare = global_[ci(c)].count / static_cast<std::uint64_t>(g);
      const std::uint64_t extra = std::min({most > q ? most - q : 0, spare > q ? spare - q : 0,
                                            budget / dm::class_size(c)});
      budget -= extra * dm::class_size(c);
      if (extra != 0) probe(mem_, DmProbe::CarveSpare);
      share[ci(c)] = q + extra;
    }
    return share;
  }

  // Blocks of class c the carve makes sure every task gets.
  std::uint64_t quota(int c) const {
    const std::uint32_t e = estimate_[ci(c)];
    return e + e / 4;
  }

  // Whether b is a region this task mapped (and still held); it no longer holds it then.
  bool forget_task_region(Addr b) {
    const auto it = std::find(task_regions_.begin(), task_regions_.end(), b);
    if (it == task_regions_.end()) return false;
    task_regions_.erase(it);
    return true;
  }

  // A class-c block handed out inside a task: demand and statistics.
  void took(int c) {
    std::uint32_t& h = held_[ci(c)];
    ++h;
    taken_[ci(c)] = std::max(taken_[ci(c)], h);
    task_bytes_ += dm::class_size(c);
  }

  Addr rescue(int c) {
    probe(mem_, DmProbe::Rescue);
    gave_up_ = true;
    rescue_class_ = c;
    return 0;
  }

  void set_live(Addr b, int c, std::uint64_t owner) {
    mem_->store64(b, dm::kMagic | dm::kLive | static_cast<std::uint64_t>(c));
    mem_->store64(b + 8, owner);
  }

  // Puts block b on class c's list of `lists`, marking it free.
  void push(Lists& lists, int c, Addr b) {
    if (&lists == &global_) listed_ |= std::uint64_t{1} << c;
    List& l = lists[ci(c)];
    mem_->store64(b, dm::kMagic | static_cast<std::uint64_t>(c));
    mem_->store64(b + 8, l.head);
    l.head = b;
    if (l.tail == 0) l.tail = b;
    ++l.count;
  }

  Addr pop(List& l) {
    const Addr b = l.head;
    l.head = mem_->load64(b + 8);
    if (l.head == 0) l.tail = 0;
    --l.count;
    return b;
  }

  // A class-c block from `lists`, splitting the smallest larger block when class c is empty.
  Addr pop_or_split(Lists& lists, int c) {
    if (lists[ci(c)].head != 0) return pop(lists[ci(c)]);
    return split_larger(lists, c);
  }
  // The same, marking which of the two paths served (a task's own partition).
  Addr pop_or_split(Lists& lists, int c, DmProbe popped, DmProbe split) {
    if (lists[ci(c)].head != 0) {
      probe(mem_, popped);
      return pop(lists[ci(c)]);
    }
    const Addr b = split_larger(lists, c);
    if (b != 0) probe(mem_, split);
    return b;
  }

  // A class-c block cut from the front of the smallest non-empty larger class's block; the rest
  // of that block goes back to the lists as smaller blocks (tile). A block just one grain larger
  // is passed over: its 16-byte rest could be no block. 0 when no larger block is free.
  Addr split_larger(Lists& lists, int c) {
    const std::uint64_t s = dm::class_size(c);
    int j = c + 1;
    if (&lists == &global_) {
      j = next_listed(c + 1, s);
    } else {
      while (j < dm::kClasses && (lists[ci(j)].head == 0 || !dm::can_cut(dm::class_size(j), s))) ++j;
    }
    if (j == dm::kClasses) return 0;
    const Addr b = pop(lists[ci(j)]);
    tile(lists, b + s, dm::class_size(j) - s);
    mem_->store64(b, dm::kMagic | static_cast<std::uint64_t>(c));
    return b;
  }

  // The smallest class from `from` on whose shared list holds a block that a class-s block can be
  // cut from (dm::kClasses when none): the walk split_larger made over every larger class, over
  // the classes listed_ marks only. Each pass of mutt.rep through the drop-in split some 450
  // blocks, each after a walk of up to 60 list heads (4% of its instructions). Clears the marks
  // of the lists it finds empty.
  // requires: from <= dm::kClasses (< 64).
  int next_listed(int from, std::uint64_t s) {
    for (std::uint64_t m = listed_ & (~std::uint64_t{0} << from); m != 0; m &= m - 1) {
      const int j = std::countr_zero(m);
      if (global_[ci(j)].head == 0) {
        listed_ &= ~(std::uint64_t{1} << j);
      } else if (dm::can_cut(dm::class_size(j), s)) {
        return j;
      }
    }
    return dm::kClasses;
  }

  // Puts [a, a + bytes) on `lists` as free blocks, the largest class that fits first (on a
  // task's own lists, the largest task class: its partition holds nothing else).
  // requires: bytes is a multiple of dm::kGrain other than dm::kGrain itself (for mine_, a
  // multiple of 32: every task class is).
  void tile(Lists& lists, Addr a, std::uint64_t bytes) {
    const bool task_lists = &lists == &mine_;
    for (const Addr end = a + bytes; a < end;) {
      const int k = task_lists ? dm::task_class_within(end - a) : dm::tile_class(end - a);
      push(lists, k, a);
      a += dm::class_size(k);
    }
  }

  // The first `n` blocks of `l` as a list of their own.
  List take_segment(List& l, std::uint64_t n) {
    List seg;
    if (n == 0) return seg;
    seg.head = l.head;
    Addr b = l.head;
    for (std::uint64_t i = 1; i < n; ++i) b = mem_->load64(b + 8);
    seg.tail = b;
    seg.count = n;
    l.head = mem_->load64(b + 8);
    mem_->store64(b + 8, 0);
    l.count -= n;
    if (l.head == 0) l.tail = 0;
    return seg;
  }

  // Appends `src` in front of `dst`: one link written, O(1).
  void splice(List& dst, const List& src) {
    if (src.count == 0) return;
    mem_->store64(src.tail + 8, dst.head);
    dst.head = src.head;
    if (dst.tail == 0) dst.tail = src.tail;
    dst.count += src.count;
  }

  // Appends `src` in front of the shared list of class c.
  void splice_shared(int c, const List& src) {
    if (src.count == 0) return;
    listed_ |= std::uint64_t{1} << c;
    splice(global_[ci(c)], src);
  }

  // A class-c block for SEQ: from its list, else cut_shared.
  Addr take_shared(int c) {
    if (global_[ci(c)].head != 0) return pop(global_[ci(c)]);
    return cut_shared(c);
  }

  // A class-c block for SEQ that is on no list yet: split from a larger free block, else cut
  // from the top, else (when `join` allows and the lists hold much free memory) split from the
  // free blocks join_free_blocks joined, else from a new chunk. 0 when system memory refuses to
  // grow.
  Addr cut_shared(int c, bool join = true) {
    if (const Addr b = split_larger(global_, c); b != 0) {
      probe(mem_, DmProbe::SeqSplit);
      return b;
    }
    if (const Addr b = from_top(c); b != 0) {
      probe(mem_, DmProbe::SeqTopCut);
      return b;
    }
    if (join && join_due() && join_free_blocks()) {
      probe(mem_, DmProbe::SeqJoin);
      if (const Addr b = split_larger(global_, c); b != 0) return b;
      if (const Addr b = from_top(c); b != 0) return b;
    }
    if (!grow()) return 0;
    probe(mem_, DmProbe::SeqNewChunk);
    return from_top(c);
  }

  // The next class-c block of the top: the untouched rest of the newest chunk, handed out from
  // its start. Blocks cut this way lie side by side, and a page of the chunk is first written
  // when a block reaches it (splitting a fresh chunk wrote headers across it). The top carries
  // a header of its own (magic | top, its size), so the chunk's walk still tiles it.
  Addr from_top(int c) {
    const std::uint64_t s = dm::class_size(c);
    if (top_ == 0 || !dm::can_cut(top_end_ - top_, s)) return 0;
    const Addr b = top_;
    advance_top(s);
    mem_->store64(b, dm::kMagic | static_cast<std::uint64_t>(c));
    return b;
  }

  // Outside a task, the block grow_into_top last grew, freed while it still ends where the top
  // begins, goes back into the top instead of onto its list: it was made from the top, not from
  // the lists. Listed at its last class, a buffer grown from small and freed, again and again,
  // left one such block behind each time and grew the heap by as much (98 MB through the drop-in
  // for 2,000 buffers of 64 KiB). Blocks cut from the top are listed when freed: giving them
  // back too made the next cut of another class search every larger list in vain first
  // (coalescing-bal ran at a quarter of its speed). False when b is not the top's neighbour.
  bool rejoin_top(Addr b, int c) {
    if (b + dm::class_size(c) != top_ || top_ == 0) return false;
    grown_block_ = 0;
    top_ = b;
    mem_->store64(top_, dm::kMagic | dm::kTop);
    mem_->store64(top_ + 8, top_end_ - top_);
    probe(mem_, DmProbe::FreeIntoTop);
    return true;
  }

  // The top gives up its first `bytes`, and its header moves behind them.
  void advance_top(std::uint64_t bytes) {
    top_ += bytes;
    if (top_ == top_end_) {
      top_ = top_end_ = 0;
      return;
    }
    mem_->store64(top_, dm::kMagic | dm::kTop);
    mem_->store64(top_ + 8, top_end_ - top_);
  }

  // Chunk r joins the newest span when the system mapped it beside that span, else starts one.
  void note_chunk(Addr r) {
    ++chunks_mapped_;
    if (spans_ > 0) {
      ChunkSpan& s = span_ring_[static_cast<std::size_t>((spans_ - 1) % dm::kJoinSpans)];
      if (r + dm::kTopBlock == s.base) {
        s.base = r;
        ++s.chunks;
        s.down = true;
        return;
      }
      if (r == s.base + s.chunks * dm::kTopBlock) {
        ++s.chunks;
        return;
      }
    }
    span_ring_[static_cast<std::size_t>(spans_++ % dm::kJoinSpans)] = ChunkSpan{r, 1};
  }

  // A new chunk from system memory becomes the top; what was left of the old top goes to the
  // free lists.
  bool grow() {
    idle_free_blocks();
    const Addr r = mem_->sys_alloc(dm::kTopBlock);
    if (r == 0) return false;
    if (top_ != 0) tile(global_, top_, top_end_ - top_);
    note_chunk(r);
    top_ = r;
    top_end_ = r + dm::kTopBlock;
    mem_->store64(top_, dm::kMagic | dm::kTop);
    mem_->store64(top_ + 8, dm::kTopBlock);
    return true;
  }

  // Out of partition memory inside a task: a region from the task's own slice of address space
  // (Memory::task_sys_alloc), tiled into blocks of this task's partition. Nothing shared is
  // read or written; at commit the region is adopted with the task's memory and its unused
  // blocks join the free lists with the rest of the partition. A task's growths double from one
  // page to the largest block, so a task that needs a little more gets a little more.
  bool grow_task(int c) {
    const std::uint64_t bytes = round_up(std::max(dm::class_size(c), task_grow_), kPageSize);
    const Addr r = mem_->task_sys_alloc(bytes);
    if (r == 0) return false;
    probe(mem_, DmProbe::TaskGrow);
    grown_ += bytes;
    task_grow_ = std::min(2 * task_grow_, dm::kTopBlock);
    tile(mine_, r, bytes);
    return true;
  }

  Addr large_alloc(std::uint64_t n) {
    if (mode_ == Mode::Task) {
      const Addr p = map_large(n, true);
      if (p != 0) probe(mem_, DmProbe::TaskLarge);
      return p != 0 ? p : rescue(dm::kClasses);
    }
    return map_large(n, false);
  }

  // A region of its own from system memory (a task's from its slice) for an object above the
  // largest class.
  Addr map_large(std::uint64_t n, bool in_task) {
    std::uint64_t size = round_up(n + dm::kHeader, kPageSize);
    Addr r = in_task ? mem_->task_sys_alloc(size) : kept_.take(size);
    if (r != 0 && !in_task) probe(mem_, DmProbe::KeptReuse);
    if (r == 0 && !in_task) {
      idle_free_blocks();
      r = mem_->sys_alloc(size);
      if (r != 0) probe(mem_, DmProbe::LargeSeq);
      if (r == 0 && kept_.count() > 0) {  // what the cache holds may be what the system lacks
        probe(mem_, DmProbe::LargeRetry);
        while (kept_.count() > 0) evict_cached();
        r = mem_->sys_alloc(size);
      }
    }
    if (r == 0) return 0;
    if (in_task) {
      grown_ += size;
      task_bytes_ += size;
      task_regions_.push_back(r);
    }
    mem_->store64(r, dm::kMagic | dm::kLive | dm::kLarge | dm::kClassMask);
    mem_->store64(r + 8, size);
    return r + dm::kHeader;
  }

  // Outside a task, an object whose block ends where the top begins grows in place: the top
  // gives up the bytes its larger class needs. No copy, and nothing left behind (a vector grown
  // while small objects come and go from the free lists: realloc2-bal). False when it cannot.
  bool grow_into_top(Addr p, std::uint64_t n) {
    if (mode_ == Mode::Task || top_ == 0 || p < dm::kHeader) return false;
    const Addr b = p - dm::kHeader;
    const std::uint64_t w0 = mem_->load64(b);
    if ((w0 & (dm::kLarge | dm::kShim)) != 0 || !live_header(w0)) return false;
    const int c = static_cast<int>(class_index(w0));
    const int to = dm::class_of(n);
    if (b + dm::class_size(c) != top_ || to == dm::kClasses) return false;
    const std::uint64_t more = dm::class_size(to) - dm::class_size(c);
    if (!dm::can_cut(top_end_ - top_, more)) return false;
    advance_top(more);
    mem_->store64(b, (w0 & ~dm::kClassMask) | dm::kGrown | static_cast<std::uint64_t>(to));
    grown_block_ = b;
    return true;
  }

  // Outside groups, a buffer that moved to a region of its own (realloc) left its block
  // [b, b + size) behind, its pages written: back in the top (when it had grown there) or on its
  // class's list (when the top had run out first). Either way its pages go back to the system, as
  // glibc gives back a free top past 128 KiB: realloc-bal kept 256 KiB resident this way, 828 KB
  // against glibc's 512-584 KB. When the program took the block the last such move gave back (a
  // buffer built and dropped again and again at the top), giving its pages back at every turn
  // would fault them in at every turn: the next 1, then 2, 4... such moves keep their pages.
  void idle_left_behind(Addr b, std::uint64_t size) {
    if (mode_ != Mode::Seq || !carve_.empty() || size < dm::kIdleBlock) return;  // shared state
    if (idled_ != 0 && (idled_w0_ == 0 ? b < idled_end_ && idled_ < b + size : mem_->load64(idled_) != idled_w0_)) {
      idle_wait_ = std::min<std::uint32_t>(std::max<std::uint32_t>(1, 2 * idle_wait_), 1u << 20);
      idle_skip_ = idle_wait_;
      idled_ = 0;
    }
    if (idle_skip_ > 0) {
      --idle_skip_;
      return;
    }
    std::uint64_t w0 = 0;  // the top's block: its header is the top's
    if (top_ != b) {
      w0 = mem_->load64(b);
      if ((w0 & ~dm::kClassMask) != dm::kMagic || dm::class_size(static_cast<int>(class_index(w0))) != size) return;
      w0 |= dm::kIdle;
      mem_->store64(b, w0);  // a listed free block: marked as idle_free_blocks marks it
    }
    if (!idle_pages(b, w0 == 0 ? std::min(b + size, top_end_) : b + size)) return;
    probe(mem_, DmProbe::IdlePages);
    idled_ = b;
    idled_end_ = b + size;
    idled_w0_ = w0;
  }

  // The whole pages past the header at b, up to end, go back to the system (Memory::sys_idle);
  // false when there are none.
  bool idle_pages(Addr b, Addr end) {
    const Addr from = round_up(b + dm::kHeader, kPageSize);
    const Addr to = end / kPageSize * kPageSize;
    if (to <= from) return false;
    mem_->sys_idle(from, to - from);
    return true;
  }

  // Outside a task, an object that grows past dm::kGrowIntoRegion moves to a region of its own
  // rather than to the next block: from there it grows with grow_large, which moves no bytes
  // natively (mremap), and a region it leaves behind is kept for the next such object. Growing
  // from class to class copied the object at every step (realloc-bal: 14% of the time in
  // memmove). 0 when it does not apply or the system refused.
  Addr region_for_growth(std::uint64_t n) {
    if (mode_ == Mode::Task || n < dm::kGrowIntoRegion || dm::class_of(n) == dm::kClasses) return 0;
    return map_large(n, false);
  }

  // Outside a task, a large object grows by growing its region (native memory moves the pages
  // without copying them): the object at p, which must be able to hold n bytes. 0 when p is no
  // large object or the system refused; p is then untouched.
  Addr grow_large(Addr p, std::uint64_t n) {
    if (mode_ == Mode::Task || n > dm::kMaxRequest || dm::class_of(n) != dm::kClasses) return 0;
    const Addr b = block_of(p);
    if (b == 0 || (mem_->load64(b) & dm::kLarge) == 0) return 0;
    const std::uint64_t size = mem_->load64(b + 8);
    const std::uint64_t want = round_up(n + (p - b), kPageSize);
    if (want <= size) return 0;
    const Addr r = mem_->sys_grow(b, size, want);
    if (r == 0) return 0;
    mem_->store64(r + 8, want);
    return r + (p - b);
  }

  // Returns a block to the free lists (or a large region to the system), outside any task.
  void release(Addr b, std::uint64_t w0) {
    if (!live_header(w0) || (w0 & dm::kShim) != 0) {  // a deferred block's header written over since
      ++invalid_frees_;
      return;
    }
    if ((w0 & dm::kLarge) != 0) {
      keep_or_free_region(b, mem_->load64(b + 8));
      return;
    }
    push(global_, static_cast<int>(class_index(w0)), b);
  }

  // When the heap must grow (a chunk, or a large region the cache could not serve), free blocks
  // of dm::kIdleBlock and more are evidently not what it needs: the whole pages past each one's
  // header go back to the system (Memory::sys_idle), and the header is marked so that the next
  // growth skips it. Before the join (alloc/dm/join.h), a block a growing object left behind in
  // each class stayed resident for good. Giving pages back at every such free instead cost a page
  // fault per page whenever a replay reused the block (realloc-bal 0.74x glibc's speed, against
  // 0.99x this way).
  // A Memory with idle_keep() keeps that many bytes of such blocks resident (the drop-in: no
  // madvise and page faults for a program that frees and reallocates the same sizes).
  void idle_free_blocks() {
    const int from = dm::class_of(dm::kIdleBlock - dm::kHeader);
    if constexpr (requires { Mem::idle_keep(); }) {
      std::uint64_t held = 0;
      for (int c = from; c < dm::kClasses; ++c) held += global_[ci(c)].count * dm::class_size(c);
      if (held <= Mem::idle_keep()) return;
    }
    for (int c = from; c < dm::kClasses; ++c) {
      Addr b = global_[ci(c)].head;
      for (std::uint64_t i = 0; i < global_[ci(c)].count; ++i) {
        const std::uint64_t w0 = mem_->load64(b);
        if ((w0 & dm::kIdle) == 0) {
          idle_pages(b, b + dm::class_size(c));
          probe(mem_, DmProbe::IdlePages);
          mem_->store64(b, w0 | dm::kIdle);
        }
        b = mem_->load64(b + 8);
      }
    }
  }

  // ---- Freed large regions kept for reuse (outside tasks only: shared state; dm::KeptRegions) ----

  // A large region freed outside a task: kept (the oldest kept ones go back to the system to
  // make room), or given back when it alone is more than the cache may hold.
  void keep_or_free_region(Addr b, std::uint64_t size) {
    if (size > dm::kCacheBytes / 2) {
      probe(mem_, DmProbe::LargeFreeToSystem);
      mem_->sys_free(b, size);
      return;
    }
    while (!kept_.has_room(size)) evict_cached();
    probe(mem_, DmProbe::KeptKeep);
    mem_->store64(b, dm::kMagic | dm::kLarge | dm::kClassMask);  // not live
    kept_.add(b, size);
  }

  // The oldest kept region goes back to the system.
  void evict_cached() {
    probe(mem_, DmProbe::KeptEvict);
    const dm::KeptRegions::Region e = kept_.drop_oldest();
    mem_->sys_free(e.base, e.size);
  }

  // The block start of payload address p (following a shim), or 0 when p is no live object.
  // A header word is a live block's only if it carries the magic, the live bit and a class that
  // exists: a large region's class bits are all ones. A program that wrote over a header (or a
  // pointer into the middle of an object) must not send a free to a list that does not exist.
  // The common case in one masked compare: a live block of a size class (no shim, not large).
  static bool small_live_header(std::uint64_t w0) {
    return (w0 & ~dm::kClassMask) == (dm::kMagic | dm::kLive) && class_index(w0) < ci(dm::kClasses);
  }
  static bool live_header(std::uint64_t w0) {
    if ((w0 & dm::kMagicMask) != dm::kMagic || (w0 & dm::kLive) == 0) return false;
    if ((w0 & dm::kShim) != 0) return true;
    return (w0 & dm::kLarge) != 0 ? (w0 & dm::kClassMask) == dm::kClassMask : class_index(w0) < ci(dm::kClasses);
  }

  Addr block_of(Addr p) {
    if (p < dm::kHeader || (p & 15) != 0) return 0;
    Addr h = p - dm::kHeader;
    std::uint64_t w0 = mem_->load64(h);
    if (!live_header(w0)) return 0;
    if ((w0 & dm::kShim) != 0) {
      h -= mem_->load64(h + 8);
      w0 = mem_->load64(h);
      if (!live_header(w0) || (w0 & dm::kShim) != 0) return 0;
    }
    return h;
  }

  std::uint64_t block_size(Addr b, std::uint64_t w0) {
    if ((w0 & dm::kLarge) != 0) return mem_->load64(b + 8);
    return dm::class_size(static_cast<int>(class_index(w0)));
  }

  template <class Visit>
  static bool corrupt(Addr a, std::uint64_t n, Visit& visit) {
    visit(BlockInfo{a, n, BlockInfo::Kind::Corrupt, 0, 0, -1});
    return false;
  }

  void reset_group_state() {
    carve_.clear();
    mine_ = {};
    deferred_.clear();
    mode_ = Mode::Seq;
    task_ = -1;
    gave_up_ = false;
    rescue_class_ = -1;
    task_regions_.clear();
  }

  // The state below is the original's static variables: copied at every fork like a process's
  // data, never tracked, combined only by merge(). Its invariants (verify() checks the
  // starred ones after every call at the paranoid level):

  Mem* mem_;

  // ---- The heap: shared by every process ----
  // * Each list's head, tail and count agree (all zero, or count blocks linked from head to
  //   tail, tail's link 0); every block on a list of class c has a free class-c header.
  // * No block is on two lists, and none is on a list and live, across global_, mine_ and the
  //   partitions of carve_ that are not this task's own.
  Lists global_{};
  // * [top_, top_end_) is the rest of the newest chunk (untouched, or given back by rejoin_top),
  //   with a top header at top_;
  //   top_ == 0 exactly when there is none, and then top_end_ == 0.
  Addr top_ = 0;
  Addr top_end_ = 0;
  // The chunks grow() mapped: how many, and the newest dm::kJoinSpans spans of them (a ring;
  // a span is chunks mapped side by side, from base on; `down` when it grew towards lower
  // addresses, as mmap's mappings do, so that its newest chunk is at base).
  struct ChunkSpan {
    Addr base = 0;
    std::uint64_t chunks = 0;
    bool down = false;
  };
  std::uint64_t chunks_mapped_ = 0;
  std::uint64_t spans_ = 0;
  std::array<ChunkSpan, dm::kJoinSpans> span_ring_{};
  // The bytes on the shared lists after the last join: what it could not join.
  std::uint64_t join_floor_ = 0;
  // The bytes on the shared lists after the last trim (trim_left_), and the same lowered as the
  // program takes them back (trim_floor_); how many times the trim's step doubled.
  std::uint64_t trim_floor_ = 0;
  std::uint64_t trim_left_ = 0;
  int trim_backoff_ = 0;
  // The block grow_into_top last grew: rejoin_top gives it back when it is freed at the top (a
  // hint; adjacency is checked then).
  Addr grown_block_ = 0;
  // idle_left_behind's backoff: the block whose pages it last gave back, [idled_, idled_end_) (0
  // once the program took it: for the top, the next block left behind lies over it; for a listed
  // block, its header changed), and the header it left on a listed one (0: it was the top's);
  // how many moves keep their pages after a block was taken, and how many still will.
  Addr idled_ = 0;
  Addr idled_end_ = 0;
  std::uint64_t idled_w0_ = 0;
  std::uint32_t idle_wait_ = 0;
  std::uint32_t idle_skip_ = 0;
  // Bit c is set whenever the shared list of class c holds a block (and may be set when it is
  // empty: next_listed clears it then). Every block put on a shared list goes through push or
  // splice_shared, which set it; verify() checks it.
  std::uint64_t listed_ = 0;
  static_assert(dm::kClasses <= 64);
  // * Every kept region has a free large-region header of its size (dm::KeptRegions holds the
  //   rest of its invariants).
  dm::KeptRegions kept_;
  std::uint64_t serial_ = 0;  // groups started: the group part of every owner tag
  std::uint64_t invalid_frees_ = 0;

  // ---- A group: set by group_init, read by task_init and merge ----
  // mode_ == Seq outside tasks (MAIN, the understudy, sequential code): then mine_, deferred_,
  // task_regions_ are empty, task_ is -1 and gave_up_ false (reset_group_state).
  // carve_ holds one partition per task of the group (empty outside a group); after the merge
  // every block of it is back on global_.
  std::vector<Lists> carve_;
  std::uint64_t reserved_ = 0;  // bytes carve_ held when carved

  // ---- Task-only state (mode_ == Task): this task's own memory ----
  // * task_ is in [0, carve_.size()); mine_ is carve_[task_] as the task has changed it (the
  //   partition itself is stale while the task runs).
  // A task allocates only from mine_ and its slice (grown_, task_grow_, task_regions_), never
  // from global_, the top or the kept regions; a free of a block it does not own goes to
  // deferred_, never to a list: so no task writes a header or link another task can read.
  Mode mode_ = Mode::Seq;
  int task_ = -1;
  Lists mine_{};
  std::vector<Addr> deferred_;  // blocks freed in this task that it does not own, for the merge
  bool gave_up_ = false;        // the task needed shared state: it must not commit
  int rescue_class_ = -1;       // the class whose partition ran dry when it gave up (-1: none)
  std::uint64_t task_bytes_ = 0;
  std::uint64_t grown_ = 0;                  // system memory this task obtained from its slice
  std::uint64_t task_grow_ = kPageSize;      // its next growth
  std::vector<Addr> task_regions_;           // large regions this task mapped and still holds
  // held_[c] <= taken_[c]: blocks of class c this task holds now, and the most it held at once.
  std::array<std::uint32_t, dm::kClasses> taken_{};
  std::array<std::uint32_t, dm::kClasses> held_{};

  // ---- Carve sizing: learned from the tasks of earlier groups (learn()) ----
  std::array<std::uint32_t, dm::kClasses> estimate_{};  // per class: blocks an average task held
  std::array<std::uint32_t, dm::kClasses> most_{};      // per class: blocks the busiest task held
  std::uint64_t spare_budget_ = 0;  // bytes of free blocks a task may get beyond its quotas
};

}  // namespace pprsim

// The census walks and the invariants check, by concept in files of their own.
#include "alloc/dm/census.h"  // IWYU pragma: export
#include "alloc/dm/verify.h"  // IWYU pragma: export
#include "alloc/dm/join.h"  // IWYU pragma: export
#include "alloc/dm/trim.h"  // IWYU pragma: export
#include "alloc/dm/task_state.h"  // IWYU pragma: export
