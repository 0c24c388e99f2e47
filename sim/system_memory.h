// The system-memory provider of one virtual process (its sbrk/mmap): page-aligned regions
// with a limit on the bytes in use, and a hook to refuse requests (fault injection).
// Like a real break pointer it is per process: two processes forked from one parent get the
// same address for their next region, each in its own address space: an allocator that grows
// from it inside tasks hands the same bytes to two tasks, as it would under fork. A speculative
// task therefore gets a slice of address space of its own (task_slice, confine, alloc_in_slice):
// the slices of one group are disjoint from each other and lie above everything the parent
// holds, so what a task obtains there touches no shared state and a commit adopts it as it is.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "alloc/memory.h"

namespace pprsim {

inline constexpr Addr kHandleBase = Addr{1} << 32;  // program data: 8-byte handle per object id
inline constexpr Addr kHeapBase = Addr{1} << 40;    // first system-memory region

class SystemMemory {
 public:
  // requires: limit_bytes > 0.
  explicit SystemMemory(std::uint64_t limit_bytes);

  // A copy for a forked process: same regions (shared until either writes them: O(1)), same
  // next address.
  SystemMemory fork() const { return *this; }

  // requires: bytes is a multiple of kPageSize. 0 when refused.
  Addr alloc(std::uint64_t bytes);
  // False when [base, base + bytes) is not exactly one region.
  bool free(Addr base, std::uint64_t bytes);

  // Every region this process holds, by base. In a task (confine), its own changes are kept
  // apart (obtained, released) and merged in here only when asked for.
  const std::map<Addr, std::uint64_t>& regions() const;
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

  // Task k's slice of a group forked from this process: [first, first + second). By default
  // every task may use as much as the limit allows, so each slice is as large as the limit;
  // a smaller slice models a runtime that reserves less address space per task.
  std::pair<Addr, std::uint64_t> task_slice(int k) const;
  // requires: bytes is 0 (as large as the limit) or a multiple of kPageSize.
  void set_slice_bytes(std::uint64_t bytes) { slice_bytes_ = bytes; }
  // Gives this process (a task) its slice.
  void confine(std::pair<Addr, std::uint64_t> slice);
  // As alloc, from the slice: 0 when the process has none or the request does not fit.
  Addr alloc_in_slice(std::uint64_t bytes);
  // Since confine (a task's life): regions obtained (in its slice or from the break) and still
  // held, and regions it held at the fork and released. What a commit applies to the parent,
  // at a cost that does not grow with the parent's regions.
  const std::map<Addr, std::uint64_t>& obtained() const { return obtained_; }
  const std::vector<std::pair<Addr, std::uint64_t>>& released() const { return released_; }
  // The slice of this process; {0, 0} when it has none.
  std::pair<Addr, std::uint64_t> slice() const { return {slice_base_, slice_end_ - slice_base_}; }
  std::uint64_t slice_granted_bytes() const { return slice_granted_bytes_; }  // from the slice, since confine

 private:
  using RegionMap = std::map<Addr, std::uint64_t>;
  Addr grant(Addr& next, Addr end, std::uint64_t bytes);
  RegionMap& own_regions();

  Addr next_ = kHeapBase;
  std::shared_ptr<RegionMap> regions_ = std::make_shared<RegionMap>();  // shared with forks until written
  mutable std::shared_ptr<RegionMap> merged_;  // in a task: regions_ with its changes, when asked
  std::uint64_t in_use_ = 0;
  std::uint64_t limit_;
  std::uint64_t refusals_ = 0;
  std::uint64_t grants_ = 0;
  std::uint64_t slice_granted_bytes_ = 0;
  std::uint64_t slice_bytes_ = 0;
  std::map<Addr, std::uint64_t> obtained_;
  std::vector<std::pair<Addr, std::uint64_t>> released_;
  Addr slice_base_ = 0;
  Addr slice_next_ = 0;
  Addr slice_end_ = 0;
  std::shared_ptr<std::uint64_t> peak_ = std::make_shared<std::uint64_t>(0);  // shared by forks
  std::function<bool(std::uint64_t)> refuse_;
};

}  // namespace pprsim
