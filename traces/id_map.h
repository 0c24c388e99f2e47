// A hash map from non-negative integer keys (object ids, and the access log's page numbers) to
// values: open addressing with linear probing in one array, no node per entry.
//
// A replay looks objects up by id several times per event (the processes' object tables, the
// content reference, the oracle's index, the trace validator), and std::unordered_map's node
// per entry, its modulo and its pointer chase were a tenth of the simulator's time.
//
// Iteration follows the slots, whose order is a function of the operations made, never of an
// address: deterministic. Unlike std::unordered_map, an insertion or an erasure may move other
// entries: pointers from find() hold only until the map changes.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

namespace pprsim {

template <class V>
class IdMap {
 public:
  V* find(std::int64_t id) {
    const std::size_t i = slot_of(id);
    return i == kNone ? nullptr : &slots_[i].value;
  }
  const V* find(std::int64_t id) const {
    const std::size_t i = slot_of(id);
    return i == kNone ? nullptr : &slots_[i].value;
  }
  bool contains(std::int64_t id) const { return slot_of(id) != kNone; }

  // The value of `id`, inserted as V{} when absent (see try_emplace).
  V& operator[](std::int64_t id) { return *try_emplace(id).first; }

  // Inserts V(args...) when `id` is absent; returns its value and whether it was inserted.
  // Throws std::invalid_argument for a negative id (-1 marks an empty slot).
  template <class... Args>
  std::pair<V*, bool> try_emplace(std::int64_t id, Args&&... args) {
    if (id < 0) throw std::invalid_argument("IdMap: a negative object id");
    if (2 * (size_ + 1) > slots_.size()) grow();
    std::size_t i = home(id);
    while (slots_[i].id != kEmpty) {
      if (slots_[i].id == id) return {&slots_[i].value, false};
      i = (i + 1) & mask_;
    }
    slots_[i].id = id;
    slots_[i].value = V(std::forward<Args>(args)...);
    ++size_;
    return {&slots_[i].value, true};
  }

  // Removes `id`; returns whether it was there.
  bool erase(std::int64_t id) {
    std::size_t i = slot_of(id);
    if (i == kNone) return false;
    // Backward shift: entries after the hole that may live in it move up, so that every entry
    // stays reachable from its home slot without tombstones.
    for (std::size_t j = (i + 1) & mask_; slots_[j].id != kEmpty; j = (j + 1) & mask_) {
      const std::size_t h = home(slots_[j].id);
      // Entry j may fill hole i when its home is not cyclically within (i, j].
      const bool stays = i <= j ? (h > i && h <= j) : (h > i || h <= j);
      if (!stays) {
        slots_[i] = std::move(slots_[j]);
        i = j;
      }
    }
    slots_[i].id = kEmpty;
    slots_[i].value = V{};
    --size_;
    return true;
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Empties the map and keeps its table (a map refilled to its old size grows no more).
  void clear() {
    if (size_ == 0) return;
    for (Slot& s : slots_) s = Slot{};
    size_ = 0;
  }

  // f(id, value) for every entry, in slot order.
  template <class F>
  void for_each(F&& f) const {
    for (const Slot& s : slots_) {
      if (s.id != kEmpty) f(s.id, s.value);
    }
  }

 private:
  static constexpr std::int64_t kEmpty = -1;
  // A task's table of changes grows to some dozens of entries: start there, not at 16.
  static constexpr std::size_t kFirstSlots = 64;
  static constexpr std::size_t kNone = ~std::size_t{0};
  struct Slot {
    std::int64_t id = kEmpty;
    V value{};
  };

  // Ids come in runs (a trace numbers its objects as it allocates them, and a group's events
  // use ids close together): eight consecutive ids share one run of eight slots, so that they
  // share cache lines, and the runs are spread over the table by Fibonacci hashing of id / 8.
  static constexpr int kRunBits = 3;
  std::size_t home(std::int64_t id) const {
    const auto u = static_cast<std::uint64_t>(id);
    const std::uint64_t run = ((u >> kRunBits) * 0x9E3779B97F4A7C15ull) >> (shift_ + kRunBits);
    return static_cast<std::size_t>((run << kRunBits) | (u & ((1u << kRunBits) - 1))) & mask_;
  }

  std::size_t slot_of(std::int64_t id) const {
    if (size_ == 0 || id < 0) return kNone;
    for (std::size_t i = home(id);; i = (i + 1) & mask_) {
      if (slots_[i].id == id) return i;
      if (slots_[i].id == kEmpty) return kNone;
    }
  }

  void grow() {
    std::vector<Slot> old = std::move(slots_);
    const std::size_t n = old.empty() ? kFirstSlots : 2 * old.size();
    slots_ = std::vector<Slot>(n);
    mask_ = n - 1;
    shift_ = 64;
    for (std::size_t k = n; k > 1; k >>= 1) --shift_;
    for (Slot& s : old) {
      if (s.id == kEmpty) continue;
      std::size_t i = home(s.id);
      while (slots_[i].id != kEmpty) i = (i + 1) & mask_;
      slots_[i] = std::move(s);
    }
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  int shift_ = 64;
  std::size_t size_ = 0;
};

}  // namespace pprsim
