// The example of alloc/README.md: a complete PPR allocator in one page. Small objects get a
// 256-byte slot; a task allocates only from the slots carved for it and defers frees of slots it
// does not own; merge gives every unused or freed slot back. Objects above a slot get a region of
// their own outside tasks (inside a task the task gives up). Registered as `--alloc example`.
//
// Slot layout: +0 magic | live flag | large flag; +8 free: next slot, live: owner tag; +16 payload.
// A region: +0 magic | live | large; +8 its size. An aligned object in a region has a shim header
// just below it: magic | live | shim, then its distance from the region's start.
#pragma once

#include <fmt/format.h>

#include <span>
#include <string>
#include <vector>

#include "alloc/census.h"
#include "alloc/malloc_helpers.h"
#include "alloc/memory.h"

namespace pprsim {

template <Memory Mem>
class SlotAllocator {
  static constexpr std::uint64_t kSlot = 256, kChunk = 64 * kSlot, kHeader = 16;
  static constexpr std::uint64_t kMagic = 0x5107ull << 48, kLive = 1, kLarge = 2, kShim = 4;
  struct List {
    Addr head = 0;
    std::uint64_t count = 0;
  };

 public:
  explicit SlotAllocator(Mem* mem) : mem_(mem) {}
  void bind(Mem* mem) { mem_ = mem; }

  Addr malloc(std::uint64_t n) {
    if (gave_up_) return 0;
    if (n > kSlot - kHeader) return task_ >= 0 ? give_up() : large(n);
    List& from = task_ >= 0 ? mine_ : shared_;
    if (from.count == 0 && (task_ >= 0 || !grow())) return task_ >= 0 ? give_up() : 0;
    const Addr s = pop(from);
    mem_->store64(s, kMagic | kLive);
    mem_->store64(s + 8, tag());
    if (task_ >= 0) ++taken_;
    return s + kHeader;
  }
  Addr calloc(std::uint64_t count, std::uint64_t size) {
    return zeroed_malloc(*this, *mem_, count, size, std::uint64_t{1} << 40);
  }
  Addr memalign(std::uint64_t align, std::uint64_t n) {
    if (!valid_alignment(align) || align > (std::uint64_t{1} << 40)) return 0;
    if (align <= kHeader) return malloc(n);  // slots and regions are 16-aligned
    if (task_ >= 0) return give_up();
    const Addr p = large(n + align);
    const Addr q = round_up(p, align);
    if (p == 0 || q == p) return p;
    mem_->store64(q - kHeader, kMagic | kLive | kShim);
    mem_->store64(q - kHeader + 8, q - p);
    return q;
  }
  Addr realloc(Addr p, std::uint64_t n) {
    if (p == 0) return malloc(n);
    if (n == 0) return free(p), 0;
    const std::uint64_t old = usable_size(p);
    if (n <= old) return p;
    const Addr q = malloc(n);
    if (q != 0) mem_->copy(q, p, old), free(p);
    return q;
  }
  void free(Addr p) {
    if (p == 0) return;
    const Addr s = start(p);
    const std::uint64_t w = mem_->load64(s);
    if (task_ >= 0) {  // a slot of this task's goes back at once, anything else at commit
      if ((w & kLarge) == 0 && mem_->load64(s + 8) == tag()) return push(mine_, s);
      return deferred_.push_back(s);
    }
    if ((w & kLarge) != 0) return mem_->sys_free(s, mem_->load64(s + 8));
    push(shared_, s);
  }
  std::uint64_t usable_size(Addr p) {
    const Addr s = start(p);
    return s + ((mem_->load64(s) & kLarge) != 0 ? mem_->load64(s + 8) : kSlot) - p;
  }

  bool group_init(int g) {
    while (shared_.count < static_cast<std::uint64_t>(g) * quota_) {
      if (!grow()) return false;
    }
    carve_.assign(static_cast<std::size_t>(g), List{});
    for (List& part : carve_) {
      for (std::uint64_t i = 0; i < quota_; ++i) push(part, pop(shared_));
    }
    ++serial_;
    return true;
  }
  void task_init(int k) {
    task_ = k;
    mine_ = carve_[static_cast<std::size_t>(k)];
    taken_ = 0;
  }
  void understudy_init() {
    for (const List& part : carve_) splice(part);
    end_group();
  }
  void merge(std::span<const SlotAllocator* const> tasks, std::size_t committed) {
    task_ = -1;  // this copy was a task's: the frees below are sequential ones
    for (std::size_t k = 0; k < carve_.size(); ++k) splice(k < committed ? tasks[k]->mine_ : carve_[k]);
    for (std::size_t k = 0; k < committed; ++k) {
      for (const Addr s : tasks[k]->deferred_) free(s + kHeader);
    }
    end_group();
  }
  void learn(std::span<const SlotAllocator* const> tasks) {
    std::uint64_t most = 0;
    for (const SlotAllocator* t : tasks) most = std::max(most, t->taken_ + (t->gave_up_ ? quota_ : 0));
    quota_ = std::clamp<std::uint64_t>(most + 2, 4, 4096);
  }

  bool gave_up() const { return gave_up_; }
  std::uint64_t reserved_bytes() const { return carve_.size() * quota_ * kSlot; }
  std::uint64_t task_allocated_bytes() const { return taken_ * kSlot; }

  template <class Visit>
  bool walk_region(Addr base, std::uint64_t size, Visit&& visit) {
    for (Addr s = base; s < base + size; s += kSlot) {
      const std::uint64_t w = mem_->load64(s);
      if ((w & ~(kLive | kLarge)) != kMagic) {
        visit(BlockInfo{s, base + size - s, BlockInfo::Kind::Corrupt, 0, 0, -1});
        return false;
      }
      if ((w & kLarge) != 0) {
        visit(BlockInfo{s, size, BlockInfo::Kind::Live, s + kHeader, size - kHeader, -1});
        return true;
      }
      const bool live = (w & kLive) != 0;
      visit(BlockInfo{s, kSlot, live ? BlockInfo::Kind::Live : BlockInfo::Kind::Free, live ? s + kHeader : 0,
                      live ? kSlot - kHeader : 0, 0});
    }
    return true;
  }
  template <class Visit>
  void walk_free(std::uint64_t max_steps, Visit&& visit) {
    auto walk = [&](const List& l) {
      Addr s = l.head;
      for (std::uint64_t i = 0; s != 0 && i < max_steps; ++i, s = mem_->load64(s + 8)) visit(FreeEntry{s, 0});
    };
    walk(shared_);
    if (task_ >= 0) walk(mine_);
    for (std::size_t k = 0; k < carve_.size(); ++k) {
      if (static_cast<int>(k) != task_) walk(carve_[k]);
    }
  }
  std::string describe(Addr base, std::uint64_t, Addr a) {
    const Addr s = base + (a - base) / kSlot * kSlot;
    return fmt::format("{} of the slot at {:#x}", a - s < 8 ? "header" : a - s < 16 ? "link or tag" : "payload", s);
  }
  // Every list holds exactly `count` free slots; (a slot on two lists shows in the census).
  std::string verify() {
    std::vector<const List*> lists{&shared_};
    if (task_ >= 0) lists.push_back(&mine_);
    for (std::size_t k = 0; k < carve_.size(); ++k) {
      if (static_cast<int>(k) != task_) lists.push_back(&carve_[k]);
    }
    for (const List* l : lists) {
      Addr s = l->head;
      for (std::uint64_t i = 0; i < l->count; ++i, s = mem_->load64(s + 8)) {
        if (s == 0 || mem_->load64(s) != kMagic) return fmt::format("a free list reaches {:#x}, no free slot", s);
      }
      if (s != 0) return fmt::format("a free list is longer than its count {}", l->count);
    }
    return "";
  }

 private:
  Addr start(Addr p) {  // the slot or region of payload p
    const Addr h = p - kHeader;
    return (mem_->load64(h) & kShim) != 0 ? h - mem_->load64(h + 8) : h;
  }
  std::uint64_t tag() const { return task_ < 0 ? 0 : serial_ << 8 | static_cast<std::uint64_t>(task_ + 1); }
  Addr give_up() { return gave_up_ = true, 0; }
  void push(List& l, Addr s) {
    mem_->store64(s, kMagic);
    mem_->store64(s + 8, l.head);
    l.head = s;
    ++l.count;
  }
  Addr pop(List& l) {
    const Addr s = l.head;
    l.head = mem_->load64(s + 8);
    --l.count;
    return s;
  }
  void splice(const List& l) {  // puts a list's slots back on the shared list, one by one
    Addr s = l.head;
    for (std::uint64_t i = 0; i < l.count; ++i) {
      const Addr next = mem_->load64(s + 8);
      push(shared_, s);
      s = next;
    }
  }
  bool grow() {
    const Addr r = mem_->sys_alloc(kChunk);
    for (Addr s = r + kChunk; r != 0 && s > r; s -= kSlot) push(shared_, s - kSlot);
    return r != 0;
  }
  Addr large(std::uint64_t n) {
    const std::uint64_t size = round_up(n + kHeader, kPageSize);
    const Addr r = mem_->sys_alloc(size);
    if (r == 0) return 0;
    mem_->store64(r, kMagic | kLive | kLarge);
    mem_->store64(r + 8, size);
    return r + kHeader;
  }
  void end_group() {
    carve_.clear();
    mine_ = {};
    deferred_.clear();
    task_ = -1;
    gave_up_ = false;
  }

  Mem* mem_;
  List shared_, mine_;
  std::vector<List> carve_;
  std::vector<Addr> deferred_;
  int task_ = -1;
  bool gave_up_ = false;
  std::uint64_t serial_ = 0, quota_ = 4, taken_ = 0;
};

}  // namespace pprsim
