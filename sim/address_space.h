// A simulated 64-bit address space of 4 KiB pages. Each virtual process owns one.
//
// The page table is a persistent radix tree (nine levels of 64 slots) whose nodes and pages are
// reference-counted: fork() shares the root and costs O(1) whatever the heap size; the first
// write of either space below a shared node copies that node (path copying), the first write of
// a shared page copies the page. A space therefore costs what it touched since the fork.
//
// A page holds one of: nothing (unmapped), zeros (mapped, never written: no bytes), its own
// bytes, or a pattern (sim/pattern.h) of one object's fill: then the page's bytes are a function
// of (object id, stamp, object base) and no bytes are held until a write needs them. A 4 GiB
// object filled with its pattern costs page-table nodes only.
//
// Every page's bytes and every node are counted by the thread's ResidentMeter (sim/resident.h).
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "alloc/memory.h"

namespace pprsim {

// An access to an address that is not mapped in the process.
class MemoryFault : public std::runtime_error {
 public:
  explicit MemoryFault(Addr addr);
  Addr addr() const { return addr_; }

 private:
  Addr addr_;
};

class AddressSpace {
 public:
  using Page = std::array<std::uint8_t, kPageSize>;

  AddressSpace() = default;
  AddressSpace(const AddressSpace&) = delete;
  AddressSpace& operator=(const AddressSpace&) = delete;
  AddressSpace(AddressSpace&& o) noexcept;
  AddressSpace& operator=(AddressSpace&& o) noexcept;
  ~AddressSpace();

  // A copy-on-write copy in O(1): both spaces share every node and page until one writes.
  AddressSpace fork();
  // The same, into this space (what it held is released): no space is moved, so its caches
  // are not copied.
  void fork_from(AddressSpace& parent);

  // Releases every page and node (as a new space holds none) and keeps the caches' storage.
  void clear();

  // requires: base and bytes are page-aligned. Maps zero-filled pages; already mapped pages of
  // the range keep their contents.
  void map(Addr base, std::uint64_t bytes);
  // requires: base and bytes are page-aligned.
  void unmap(Addr base, std::uint64_t bytes);
  // A page in the read cache is mapped (an unmap forgets the cache): the replay asks this of a
  // handle's page before every event, and the handle was read a moment ago.
  bool is_mapped(Addr a) const {
    const std::uint64_t pn = a / kPageSize;
    return rcache_.find(pn) != nullptr || lookup(pn) != kUnmapped;
  }

  // Throw MemoryFault when any byte of the range is not mapped.
  void read(Addr a, void* out, std::uint64_t n);
  void write(Addr a, const void* in, std::uint64_t n);
  void zero(Addr a, std::uint64_t n);
  std::uint64_t load64(Addr a);
  void store64(Addr a, std::uint64_t v);

  // Writes the pattern of object `id` filled at `stamp` (pattern_byte(id, stamp, x - base) at
  // address x) over [a, a + n). Pages the range covers whole hold no bytes afterwards.
  // requires: base <= a, base is 8-byte aligned.
  void fill_pattern(Addr a, std::uint64_t n, std::int64_t id, std::uint32_t stamp, Addr base);

  // The bytes of page `pn`, read-only, valid until the space's next access.
  // Throws MemoryFault when it is not mapped.
  const std::uint8_t* page_bytes(std::uint64_t pn) { return rpage(pn); }

  // The bytes of page `pn`, writable (copied first if shared), valid until the space's next
  // access. Throws MemoryFault when it is not mapped.
  std::uint8_t* writable_page(std::uint64_t pn) { return wpage(pn); }

  // Page `pn` of this space becomes what it is in `from` (shared until one writes it).
  // Throws MemoryFault when it is not mapped in both.
  void share_page(const AddressSpace& from, std::uint64_t pn);

  // The pattern page `pn` holds, if it holds one (for a content check without bytes).
  struct PatternRef {
    std::int64_t id;
    std::uint32_t stamp;
    Addr base;
  };
  bool pattern_of(std::uint64_t pn, PatternRef& out) const;

  // Pages written since the last call (sorted, distinct), for the oracle's incremental check.
  std::vector<std::uint64_t> take_dirty();

  std::size_t mapped_pages() const { return mapped_; }
  // Pages that hold bytes of their own (not shared with another space, not zero or pattern).
  std::size_t private_pages() const;

  // Slot encoding and tree node, public for the implementation's helpers only.
  static constexpr std::uintptr_t kUnmapped = 0;
  static constexpr std::uintptr_t kZero = 1;
  struct Node;
  static constexpr int kTopLevel = 8;  // a space starts as one leaf node: 64 pages

 private:
  // The leaf slot of page `pn`, or kUnmapped.
  std::uintptr_t lookup(std::uint64_t pn) const;
  // The leaf slot of page `pn` in a tree whose path to it is this space's alone (copied as
  // needed). `create`: build missing nodes (else nullptr when absent).
  std::uintptr_t* own_slot(std::uint64_t pn, bool create);
  // Readable bytes of page `pn`; pattern pages are materialised into `scratch_`.
  const std::uint8_t* rpage(std::uint64_t pn);
  // Writable bytes of page `pn`, copying (or materialising) it first if needed.
  std::uint8_t* wpage(std::uint64_t pn);
  void forget_cache();

  // Grows the tree upwards until page `pn` is under its root.
  void reach(std::uint64_t pn);

  std::uintptr_t root_ = 0;  // a Node*, or 0 when nothing was ever mapped
  // The root's level in a full tree: the levels above it would have one path, to slot 0, so
  // they are left out until a page beyond the root's span is mapped. Simulated memory starts at
  // 2^40: five levels, not nine, to walk and to copy at a task's first write.
  int top_ = kTopLevel;
  std::size_t mapped_ = 0;

  // A direct-mapped cache of recent lookups (page number -> bytes). Forgetting it all is O(1)
  // (a fork forgets the parent's writable pages, an unmap everything): each entry's key holds
  // the generation it was filled in above the page number's 52 bits, and only when the
  // generation wraps is the table cleared for real.
  static constexpr std::size_t kCache = 512;
  template <class T>
  class PageCache {
   public:
    T* find(std::uint64_t pn) const {
      const Entry& e = e_[pn % kCache];
      return e.key == (pn | gen_) ? e.bytes : nullptr;
    }
    void put(std::uint64_t pn, T* bytes) { e_[pn % kCache] = {pn | gen_, bytes}; }
    void drop(std::uint64_t pn) {
      Entry& e = e_[pn % kCache];
      if (e.key == (pn | gen_)) e = {};
    }
    void forget() {
      gen_ += kGenStep;
      if (gen_ == kGenEnd) {
        e_.fill({});
        gen_ = 0;
      }
    }

   private:
    static constexpr std::uint64_t kGenStep = std::uint64_t{1} << 52;
    static constexpr std::uint64_t kGenEnd = std::uint64_t{4095} << 52;  // an empty key never matches
    struct Entry {
      std::uint64_t key = ~std::uint64_t{0};
      T* bytes = nullptr;
    };
    std::array<Entry, kCache> e_{};
    std::uint64_t gen_ = 0;
  };
  PageCache<const std::uint8_t> rcache_;  // readable (shared, zero page...)
  PageCache<std::uint8_t> wcache_;        // writable (this space's own bytes)
  std::vector<std::uint64_t> dirty_;  // pages made writable or pattern-filled (may repeat)
  std::uint64_t scratch_pn_ = ~std::uint64_t{0};
  Page* scratch_ = nullptr;  // one materialised pattern page for reads
};

}  // namespace pprsim
