#include "sim/system_memory.h"

#include <algorithm>

namespace pprsim {

SystemMemory::SystemMemory(std::uint64_t limit_bytes) : limit_(limit_bytes) {}

Addr SystemMemory::alloc(std::uint64_t bytes) {
  if (bytes == 0 || bytes % kPageSize != 0 || bytes > limit_ - in_use_ ||
      (refuse_ && refuse_(bytes))) {
    ++refusals_;
    return 0;
  }
  const Addr base = next_;
  // A guard page between regions, so an overrun faults instead of landing in a neighbour.
  next_ += bytes + kPageSize;
  regions_.emplace(base, bytes);
  in_use_ += bytes;
  *peak_ = std::max(*peak_, in_use_);
  ++grants_;
  return base;
}

bool SystemMemory::free(Addr base, std::uint64_t bytes) {
  const auto it = regions_.find(base);
  if (it == regions_.end() || it->second != bytes) return false;
  regions_.erase(it);
  in_use_ -= bytes;
  return true;
}

void SystemMemory::adopt(Addr base, std::uint64_t bytes) {
  if (regions_.emplace(base, bytes).second) in_use_ += bytes;
  *peak_ = std::max(*peak_, in_use_);
  next_ = std::max(next_, base + bytes + kPageSize);
}

}  // namespace pprsim
