// Seeded bugs for `pprsim selftest`: each is a mistake a PPR allocator could plausibly make.
// They live here, outside the production core: DmMallocMutant is a subclass of DmMalloc that
// re-implements only the operation its bug is in and otherwise runs DmMalloc unchanged. The
// self-test proves that the property suite catches every one of them.
#pragma once

#include <algorithm>
#include <array>
#include <span>
#include <string_view>
#include <vector>

#include "alloc/dmmalloc.h"

namespace pprsim {

enum class Mutant : unsigned char {
  CarveOverlap,        // carve gives task 1 (and later) the partition of task 0
  CarveKeepsShared,    // carved blocks stay reachable from the shared free lists too
  EagerGlobalFree,     // a free of a global block inside a task is applied at once
  SplitFromShared,     // a split inside a task takes its block from the shared list
  RescueTouchesShared, // a large object inside a task comes from the shared break, not its slice
  MergeDropsDeferred,  // merge forgets the deferred frees
  MergeDropsUnused,    // merge forgets the committed tasks' unused partition blocks
  MergeDuplicates,     // merge returns a committed task's partition twice (as carved and as left)
  UnderstudyOwnPart,   // the understudy returns only partition 0 to the free lists
  ReallocShortCopy,    // realloc copies one byte too few
  UsableTooLarge,      // usable_size reports 16 bytes more than the block holds
  GrowFromShared,      // a task out of partition memory grows the way SEQ does: shared break, shared lists
};

struct MutantInfo {
  Mutant mutant;
  std::string_view name;
  std::string_view what;
  DmProbe guard;  // the probe point (alloc/probes.h) on the path the bug is in
};

inline constexpr std::array<MutantInfo, 12> kMutants{{
    {Mutant::CarveOverlap, "carve-overlap", "carve gives two tasks overlapping partitions", DmProbe::TaskPop},
    {Mutant::CarveKeepsShared, "carve-keeps-shared", "carved blocks stay on the shared lists", DmProbe::Carve},
    {Mutant::EagerGlobalFree, "eager-global-free", "a global free in a task is applied at once, not deferred", DmProbe::DeferredFree},
    {Mutant::SplitFromShared, "split-from-shared", "a split inside a task takes a block from the shared list", DmProbe::TaskGrow},
    {Mutant::RescueTouchesShared, "rescue-touches-shared", "a large object in a task comes from shared system memory", DmProbe::TaskLarge},
    {Mutant::MergeDropsDeferred, "merge-drops-deferred", "merge forgets deferred frees", DmProbe::MergeDeferred},
    {Mutant::MergeDropsUnused, "merge-drops-unused", "merge forgets the unused partitions", DmProbe::MergeCommitted},
    {Mutant::MergeDuplicates, "merge-duplicates", "merge returns a committed partition twice", DmProbe::MergeCommitted},
    {Mutant::UnderstudyOwnPart, "understudy-own-partition", "the understudy uses only its partition", DmProbe::UnderstudyReturn},
    {Mutant::ReallocShortCopy, "realloc-short-copy", "realloc copies one byte too few", DmProbe::ReallocMove},
    {Mutant::UsableTooLarge, "usable-too-large", "usable_size is too large", DmProbe::ReallocInPlace},
    {Mutant::GrowFromShared, "grow-from-shared", "a task out of memory grows from shared memory, not its slice", DmProbe::TaskGrow},
}};

// dmmalloc with the seeded bug `bug`. Each override below is DmMalloc's own operation with
// exactly that one mistake; every other call goes to DmMalloc.
template <Memory Mem>
class DmMallocMutant : public DmMalloc<Mem> {
  using Base = DmMalloc<Mem>;
  using typename Base::Lists;
  using typename Base::Mode;
  using Base::carve_;
  using Base::deferred_;
  using Base::global_;
  using Base::mem_;
  using Base::mine_;
  using Base::mode_;
  static constexpr auto ci = Base::ci;

 public:
  DmMallocMutant(Mem* mem, Mutant bug) : Base(mem), bug_(bug) {}

  Mutant bug() const { return bug_; }

  Addr malloc(std::uint64_t n) {
    const bool task = mode_ == Mode::Task && !this->gave_up_ && n <= dm::kMaxRequest;
    const int any = dm::class_of(n);
    const int c = task && any < dm::kClasses ? dm::task_class(any) : any;  // as DmMalloc's tasks take
    if (bug_ == Mutant::SplitFromShared && task && c < dm::kClasses) {
      Addr b = this->pop_or_split(mine_, c);
      if (b == 0) b = this->take_shared(c);  // the bug
      if (b == 0) return this->rescue(c);
      this->took(c);
      this->set_live(b, c, this->tag());
      return b + dm::kHeader;
    }
    if (bug_ == Mutant::RescueTouchesShared && task && c == dm::kClasses) {
      return this->map_large(n, false);  // the bug: the shared break instead of the task's slice
    }
    if (bug_ == Mutant::GrowFromShared && task && c < dm::kClasses) {
      Addr b = this->pop_or_split(mine_, c);
      if (b == 0 && this->grow()) b = this->cut_shared(c);  // the bug: SEQ's growth
      if (b == 0) return this->rescue(c);
      this->took(c);
      this->set_live(b, c, this->tag());
      return b + dm::kHeader;
    }
    return Base::malloc(n);
  }

  // calloc, memalign and realloc as DmMalloc has them, but calling this class's malloc, free
  // and usable_size, so that a bug there shows wherever DmMalloc's own calls would reach it.
  Addr calloc(std::uint64_t count, std::uint64_t size) {
    if (size != 0 && count > dm::kMaxRequest / size) return 0;
    const Addr p = malloc(count * size);
    if (p != 0) mem_->zero(p, count * size);
    return p;
  }

  Addr memalign(std::uint64_t align, std::uint64_t n) {
    if (!valid_alignment(align)) return 0;
    if (align <= dm::kHeader) return malloc(n);
    if (n > dm::kMaxRequest || align > dm::kMaxRequest) return 0;
    const Addr p = malloc(std::max<std::uint64_t>(n, 1) + align - dm::kHeader);
    return p == 0 ? 0 : this->align_within(p, align);
  }

  Addr realloc(Addr p, std::uint64_t n) {
    if (p == 0) return malloc(n);
    if (n == 0) {
      free(p);
      return 0;
    }
    const std::uint64_t old = usable_size(p);
    if (n <= old) return p;
    if (this->grow_into_top(p, n)) return p;
    const std::uint64_t ahead = dm::growth_request(old, n);
    if (const Addr q = this->grow_large(p, ahead); q != 0) return q;
    Addr q = this->region_for_growth(ahead);
    if (q == 0 && ahead > n) q = malloc(ahead);
    if (q == 0) q = malloc(n);
    if (q == 0) return 0;
    const bool short_copy = bug_ == Mutant::ReallocShortCopy;
    mem_->copy(q, p, std::min(old, n) - (short_copy ? 1 : 0));  // the bug, if it is this one
    free(p);
    return q;
  }

  void free(Addr p) {
    if (bug_ == Mutant::EagerGlobalFree && mode_ == Mode::Task && p != 0) {
      const Addr b = this->block_of(p);
      if (b != 0) {
        const std::uint64_t w0 = mem_->load64(b);
        if ((w0 & dm::kLarge) == 0) {  // the bug: no ownership test, no deferral
          this->push(mine_, static_cast<int>(Base::class_index(w0)), b);
          return;
        }
      }
    }
    Base::free(p);
  }

  std::uint64_t usable_size(Addr p) {
    const std::uint64_t u = Base::usable_size(p);
    return bug_ == Mutant::UsableTooLarge && u != 0 ? u + 16 : u;  // the bug
  }

  bool group_init(int g) {
    if (bug_ != Mutant::CarveKeepsShared) return Base::group_init(g);
    this->reserved_ = 0;
    for (int c = 0; c < dm::kClasses; ++c) {
      const std::uint64_t need = static_cast<std::uint64_t>(g) * this->quota(c);
      while (global_[ci(c)].count < need) {
        const Addr b = this->cut_shared(c, false);
        if (b == 0) return false;
        this->push(global_, c, b);
      }
    }
    const auto share = this->task_shares(g);
    carve_.assign(static_cast<std::size_t>(g), Lists{});
    for (auto& part : carve_) {
      for (int c = 0; c < dm::kClasses; ++c) {
        const auto before = global_[ci(c)];
        part[ci(c)] = this->take_segment(global_[ci(c)], share[ci(c)]);
        if (part[ci(c)].count > 0) {  // the bug: the shared list still reaches the partition
          mem_->store64(part[ci(c)].tail + 8, global_[ci(c)].head);
          global_[ci(c)] = before;
        }
        this->reserved_ += part[ci(c)].count * dm::class_size(c);
      }
    }
    ++this->serial_;
    return true;
  }

  void task_init(int k) {
    Base::task_init(k);
    if (bug_ == Mutant::CarveOverlap) mine_ = carve_[0];  // the bug
  }

  void understudy_init() {
    if (bug_ != Mutant::UnderstudyOwnPart) return Base::understudy_init();
    if (!carve_.empty()) {  // the bug: only partition 0 goes back
      for (int c = 0; c < dm::kClasses; ++c) this->splice_shared(c, carve_[0][ci(c)]);
    }
    this->reset_group_state();
  }

  void merge(std::span<const DmMallocMutant* const> tasks, std::size_t committed) {
    const bool drops_unused = bug_ == Mutant::MergeDropsUnused;
    const bool duplicates = bug_ == Mutant::MergeDuplicates;
    const bool drops_deferred = bug_ == Mutant::MergeDropsDeferred;
    if (!drops_unused && !duplicates && !drops_deferred) return Base::merge(bases(tasks), committed);
    for (std::size_t k = 0; k < carve_.size(); ++k) {
      if (k < committed && drops_unused) continue;  // the bug
      const Lists& rest = k < committed ? tasks[k]->mine_ : carve_[k];
      for (int c = 0; c < dm::kClasses; ++c) this->splice_shared(c, rest[ci(c)]);
      if (k < committed && duplicates) {  // the bug
        for (int c = 0; c < dm::kClasses; ++c) this->splice_shared(c, carve_[k][ci(c)]);
      }
    }
    for (std::size_t k = 0; k < committed && !drops_deferred; ++k) {
      for (const Addr b : tasks[k]->deferred_) this->release(b, mem_->load64(b));
    }
    this->reset_group_state();
  }

  void learn(std::span<const DmMallocMutant* const> tasks) { Base::learn(bases(tasks)); }

 private:
  static std::vector<const Base*> bases(std::span<const DmMallocMutant* const> tasks) {
    return {tasks.begin(), tasks.end()};
  }

  Mutant bug_;
};

}  // namespace pprsim
