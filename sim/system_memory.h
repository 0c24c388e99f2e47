// The system-memory provider of one virtual process (its sbrk/mmap): page-aligned regions
// with a limit on the bytes in use, and a hook to refuse requests (fault injection).
// Region addresses come from one counter shared by all processes of a run, so no two processes
// ever get the same range.
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

  // A copy for a forked process: same regions, same address counter.
  SystemMemory fork() const { return *this; }

  // requires: bytes is a multiple of kPageSize. 0 when refused.
  Addr alloc(std::uint64_t bytes);
  // False when [base, base + bytes) is not exactly one region.
  bool free(Addr base, std::uint64_t bytes);

  const std::map<Addr, std::uint64_t>& regions() const { return regions_; }
  std::uint64_t in_use() const { return in_use_; }
  std::uint64_t limit() const { return limit_; }
  std::uint64_t refusals() const { return refusals_; }

  // Called for every request; returning true refuses it (fault injection).
  void set_refuse(std::function<bool(std::uint64_t)> refuse) { refuse_ = std::move(refuse); }

  // Adopts a region another process obtained (commit of that process's work).
  void adopt(Addr base, std::uint64_t bytes);

 private:
  std::shared_ptr<Addr> next_;
  std::map<Addr, std::uint64_t> regions_;
  std::uint64_t in_use_ = 0;
  std::uint64_t limit_;
  std::uint64_t refusals_ = 0;
  std::function<bool(std::uint64_t)> refuse_;
};

}  // namespace pprsim
