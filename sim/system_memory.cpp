#include "sim/system_memory.h"

#include <algorithm>

namespace pprsim {

SystemMemory::SystemMemory(std::uint64_t limit_bytes) : limit_(limit_bytes) {}

Addr SystemMemory::alloc(std::uint64_t bytes) { return grant(next_, ~Addr{0}, bytes); }

Addr SystemMemory::alloc_in_slice(std::uint64_t bytes) {
  return slice_end_ == 0 ? 0 : grant(slice_next_, slice_end_, bytes);
}

Addr SystemMemory::grant(Addr& next, Addr end, std::uint64_t bytes) {
  if (bytes == 0 || bytes % kPageSize != 0 || bytes > limit_ - in_use_ || next >= end ||
      bytes > end - next || (refuse_ && refuse_(bytes))) {
    ++refusals_;
    return 0;
  }
  const Addr base = next;
  // A guard page between regions, so an overrun faults instead of landing in a neighbour.
  next += bytes + kPageSize;
  if (slice_end_ != 0) {
    obtained_.emplace(base, bytes);
    merged_.reset();
  } else {
    own_regions().emplace(base, bytes);
  }
  in_use_ += bytes;
  *peak_ = std::max(*peak_, in_use_);
  ++grants_;
  if (&next == &slice_next_) slice_granted_bytes_ += bytes;
  return base;
}

bool SystemMemory::free(Addr base, std::uint64_t bytes) {
  if (slice_end_ != 0) {
    if (const auto it = obtained_.find(base); it != obtained_.end()) {
      if (it->second != bytes) return false;
      obtained_.erase(it);
    } else {
      const auto at_fork = regions_->find(base);
      if (at_fork == regions_->end() || at_fork->second != bytes ||
          std::find(released_.begin(), released_.end(), std::pair{base, bytes}) != released_.end()) {
        return false;
      }
      released_.emplace_back(base, bytes);
    }
    merged_.reset();
  } else {
    RegionMap& m = own_regions();
    const auto it = m.find(base);
    if (it == m.end() || it->second != bytes) return false;
    m.erase(it);
  }
  in_use_ -= bytes;
  return true;
}

const std::map<Addr, std::uint64_t>& SystemMemory::regions() const {
  if (obtained_.empty() && released_.empty()) return *regions_;
  if (!merged_) {
    merged_ = std::make_shared<RegionMap>(*regions_);
    for (const auto& [base, size] : released_) merged_->erase(base);
    merged_->insert(obtained_.begin(), obtained_.end());
  }
  return *merged_;
}

SystemMemory::RegionMap& SystemMemory::own_regions() {
  if (regions_.use_count() > 1) regions_ = std::make_shared<RegionMap>(*regions_);
  return *regions_;
}

void SystemMemory::adopt(Addr base, std::uint64_t bytes) {
  if (own_regions().emplace(base, bytes).second) in_use_ += bytes;
  *peak_ = std::max(*peak_, in_use_);
  next_ = std::max(next_, base + bytes + kPageSize);
}

std::pair<Addr, std::uint64_t> SystemMemory::task_slice(int k) const {
  // Slice k is the (k + 1)-th range of `bytes` above the parent's break: the first range is
  // left to the break itself, so a task that grows from the shared break (a bug) never lands
  // in any task's slice.
  // No slice is larger than the limit: a task could not use more, and a larger one would let
  // the slices of a big group run past the end of the address space.
  const std::uint64_t whole = round_up(limit_, kPageSize);
  const std::uint64_t bytes = (slice_bytes_ != 0 ? std::min(slice_bytes_, whole) : whole) + kPageSize;
  return {next_ + static_cast<std::uint64_t>(k + 1) * bytes, bytes};
}

void SystemMemory::confine(std::pair<Addr, std::uint64_t> slice) {
  slice_base_ = slice.first;
  slice_next_ = slice.first;
  slice_end_ = slice.first + slice.second;
  obtained_.clear();
  released_.clear();
  merged_.reset();
  slice_granted_bytes_ = 0;
}

}  // namespace pprsim
