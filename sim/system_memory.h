// The system-memory provider of one virtual process (its sbrk/mmap): page-aligned regions
// with a limit on the bytes in use, and a hook to refuse requests (fault injection).
// Like a real break pointer it is per process: two processes forked from one parent get the
// same address for their next region, each in its own address space. An allocator that grows
// inside tasks therefore hands the same bytes to two tasks, as it would under fork.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "alloc/memory.h"

namespace pprsim {

inline constexpr Addr kHandleBase = Addr{1} << 32;  // program data: 8-byte handle per object id
inline constexpr Addr kHeapBase = Addr{1} << 40;    // first system-memory region

class SystemMemory {
 public:
  // requires: limit_bytes > 0.
  explicit SystemMemory(std::uint64_t limit_bytes);

  // A copy for a forked process: same regions, same next address.
  SystemMemory fork() const { return *this; }

  // requires: bytes is a multiple of kPageSize. 0 when refused.
  Addr alloc(std::uint64_t bytes);
  // False when [base, base + bytes) is not exactly one region.
  bool free(Addr base, std::uint64_t bytes);

  const std::map<Addr, std::uint64_t>& regions() const { return regions_; }
  std::uint64_t in_use() const { return in_use_; }
  // The most bytes in use at any time in this process or in any process forked from it (or
  // from which it was forked): what a failure's "bytes in use" can never exceed.
  std::uint64_t peak() const { return *peak_; }
  std::uint64_t limit() const { return limit_; }
  std::uint64_t refusals() const { return refusals_; }
  std::uint64_t grants() const { return grants_; }  // requests served, ever

  // Called for every request; returning true refuses it (fault injection).
  void set_refuse(std::function<bool(std::uint64_t)> refuse) { refuse_ = std::move(refuse); }

  // Adopts a region another process obtained (commit of that process's work).
  void adopt(Addr base, std::uint64_t bytes);

 private:
  Addr next_ = kHeapBase;
  std::map<Addr, std::uint64_t> regions_;
  std::uint64_t in_use_ = 0;
  std::uint64_t limit_;
  std::uint64_t refusals_ = 0;
  std::uint64_t grants_ = 0;
  std::shared_ptr<std::uint64_t> peak_ = std::make_shared<std::uint64_t>(0);  // shared by forks
  std::function<bool(std::uint64_t)> refuse_;
};

}  // namespace pprsim
