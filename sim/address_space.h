// A simulated 64-bit address space of 4 KiB pages. Each virtual process owns one; fork()
// shares every page copy-on-write, so its cost is the page-table copy, not the heap size.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

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
  AddressSpace(AddressSpace&&) noexcept = default;
  AddressSpace& operator=(AddressSpace&&) noexcept = default;

  // A copy-on-write copy: both spaces share every page until one of them writes it.
  AddressSpace fork();

  // requires: base and bytes are page-aligned. Maps zero-filled pages; already mapped pages of
  // the range keep their contents.
  void map(Addr base, std::uint64_t bytes);
  // requires: base and bytes are page-aligned.
  void unmap(Addr base, std::uint64_t bytes);
  bool is_mapped(Addr a) const { return table_.count(a / kPageSize) != 0; }

  // Throw MemoryFault when any byte of the range is not mapped.
  void read(Addr a, void* out, std::uint64_t n);
  void write(Addr a, const void* in, std::uint64_t n);
  void zero(Addr a, std::uint64_t n);
  std::uint64_t load64(Addr a);
  void store64(Addr a, std::uint64_t v);

  std::size_t mapped_pages() const { return table_.size(); }
  // Pages that hold data of their own (not shared with another space, not untouched zero pages).
  std::size_t private_pages() const;

 private:
  // Readable bytes of page `pn` (a shared zero page when untouched).
  const std::uint8_t* rpage(std::uint64_t pn);
  // Writable bytes of page `pn`, copying it first if another space shares it.
  std::uint8_t* wpage(std::uint64_t pn);
  void forget_cache();

  std::map<std::uint64_t, std::shared_ptr<Page>> table_;
  // One-entry caches of the last page read and the last page made writable.
  std::uint64_t rcache_pn_ = ~std::uint64_t{0};
  const std::uint8_t* rcache_ = nullptr;
  std::uint64_t wcache_pn_ = ~std::uint64_t{0};
  std::uint8_t* wcache_ = nullptr;
};

}  // namespace pprsim
