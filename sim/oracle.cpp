#include "sim/oracle.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>

#include "sim/pattern.h"
#include "sim/sim_allocator.h"

namespace pprsim {

namespace {

constexpr std::size_t kMaxProblems = 20;

void note(HeapCheck& c, std::string s) {
  if (c.problems.size() < kMaxProblems) c.problems.push_back(std::move(s));
}

using Live = std::vector<std::pair<std::int64_t, Object>>;

// An object's footprint for overlap purposes: malloc(0) still owns one distinct address.
std::uint64_t footprint(const Object& o) { return o.size == 0 ? 1 : o.size; }

void check_contents(Process& p, const ContentModel& model, const Live& live, HeapCheck& c) {
  std::vector<std::uint8_t> buf;
  for (const auto& [id, o] : live) {
    const ContentModel::Expected* x = model.find(id);
    if (x == nullptr || x->size != o.size) {
      ++c.content_mismatches;
      note(c, fmt::format("object {} is live with {} bytes, the sequential run has {}", id, o.size,
                          x == nullptr ? std::string("no such object") : fmt::format("{} bytes", x->size)));
      continue;
    }
    bool bad = false;
    ContentModel::for_runs(*x, [&](std::uint64_t off, std::uint32_t stamp, std::uint64_t len) {
      if (bad) return;
      buf.resize(len);
      try {
        p.space.read(o.addr + off, buf.data(), len);
      } catch (const MemoryFault& f) {
        bad = true;
        note(c, fmt::format("object {} at {:#x} is not in mapped memory ({})", id, o.addr, f.what()));
        return;
      }
      for_pattern(id, stamp, off, len, [&](std::uint64_t at, const std::uint8_t* want, std::uint64_t n) {
        if (bad || std::memcmp(buf.data() + (at - off), want, n) == 0) return;
        std::uint64_t i = 0;
        while (buf[at - off + i] == want[i]) ++i;
        bad = true;
        note(c, fmt::format("object {} at {:#x}: byte {} is {:#04x}, expected {:#04x} (written at line {})", id,
                            o.addr, at + i, buf[at - off + i], want[i], stamp));
      });
    });
    if (bad) ++c.content_mismatches;
  }
  if (model.size() != live.size()) {
    ++c.content_mismatches;
    note(c, fmt::format("{} objects are live, the sequential run has {}", live.size(), model.size()));
  }
}

void check_overlap(const Live& live, HeapCheck& c) {
  for (std::size_t i = 1; i < live.size(); ++i) {
    const auto& [a_id, a] = live[i - 1];
    const auto& [b_id, b] = live[i];
    if (a.addr + footprint(a) > b.addr) {
      ++c.double_allocations;
      note(c, fmt::format("objects {} and {} overlap at {:#x}: handed out twice", a_id, b_id, b.addr));
    }
  }
}

void census(Process& p, const Live& live, HeapCheck& c) {
  std::vector<BlockInfo> blocks;
  for (const auto& [base, size] : p.sys.regions()) {
    std::vector<BlockInfo> region;
    try {
      p.alloc->walk_region(base, size, [&](const BlockInfo& b) { region.push_back(b); });
    } catch (const MemoryFault& f) {
      region.push_back(BlockInfo{base, size, BlockInfo::Kind::Corrupt, 0, 0, -1});
    }
    Addr cursor = base;
    for (const BlockInfo& b : region) {
      if (b.start != cursor || b.size == 0 || b.start + b.size > base + size) {
        ++c.lost_blocks;
        note(c, fmt::format("region {:#x}: the block walk left {:#x}..{:#x} unaccounted", base, cursor, b.start));
        break;
      }
      cursor = b.start + b.size;
      if (b.kind == BlockInfo::Kind::Corrupt) {
        ++c.lost_blocks;
        c.lost_bytes += b.size;
        note(c, fmt::format("{} bytes at {:#x} hold no valid block header", b.size, b.start));
      }
      blocks.push_back(b);
    }
  }
  // Live blocks hold exactly one live object each; objects lie inside live blocks.
  std::size_t j = 0;
  std::vector<int> holders(live.size(), 0);
  for (const BlockInfo& b : blocks) {
    while (j < live.size() && live[j].second.addr < b.start) ++j;
    int inside = 0;
    for (std::size_t k = j; k < live.size() && live[k].second.addr < b.start + b.size; ++k) {
      const Object& o = live[k].second;
      const bool fits = b.kind == BlockInfo::Kind::Live && o.addr >= b.payload &&
                        o.addr + o.size <= b.payload + b.usable;
      if (fits) {
        ++inside;
        ++holders[k];
      } else if (b.kind == BlockInfo::Kind::Free) {
        ++c.double_allocations;
        note(c, fmt::format("object {} at {:#x} lies in the free block {:#x}", live[k].first, o.addr, b.start));
      }
    }
    if (b.kind == BlockInfo::Kind::Live) {
      ++c.live_blocks;
      c.overhead_bytes += b.size;
      if (inside == 0) {
        ++c.lost_blocks;
        c.lost_bytes += b.size;
        note(c, fmt::format("live block {:#x} ({} bytes) holds no live object: lost", b.start, b.size));
      } else if (inside > 1) {
        c.double_allocations += static_cast<std::uint64_t>(inside - 1);
        note(c, fmt::format("block {:#x} holds {} live objects", b.start, inside));
      }
    } else if (b.kind == BlockInfo::Kind::Free) {
      c.free_bytes += b.size;
    }
  }
  for (std::size_t k = 0; k < live.size(); ++k) {
    if (holders[k] == 0) {
      ++c.double_allocations;
      note(c, fmt::format("object {} at {:#x} is in no live block of the heap", live[k].first, live[k].second.addr));
    }
  }
  // Free lists: each free block exactly once, nothing else.
  std::map<Addr, int> on_lists;
  std::uint64_t budget = blocks.size() + 1;
  try {
    p.alloc->walk_free(budget, [&](const FreeEntry& f) { ++on_lists[f.block]; });
  } catch (const MemoryFault& f) {
    ++c.double_allocations;
    note(c, fmt::format("a free list leads out of the heap ({})", f.what()));
  }
  for (const BlockInfo& b : blocks) {
    const auto it = on_lists.find(b.start);
    const int n = it == on_lists.end() ? 0 : it->second;
    if (b.kind == BlockInfo::Kind::Free) {
      if (n == 0) {
        ++c.lost_blocks;
        c.lost_bytes += b.size;
        note(c, fmt::format("free block {:#x} ({} bytes) is on no free list: lost", b.start, b.size));
      } else if (n > 1) {
        c.double_allocations += static_cast<std::uint64_t>(n - 1);
        note(c, fmt::format("free block {:#x} is on the free lists {} times", b.start, n));
      }
    } else if (n > 0 && b.kind == BlockInfo::Kind::Live) {
      c.double_allocations += static_cast<std::uint64_t>(n);
      note(c, fmt::format("live block {:#x} is also on a free list", b.start));
    }
    if (it != on_lists.end()) on_lists.erase(it);
  }
  for (const auto& [addr, n] : on_lists) {
    c.double_allocations += static_cast<std::uint64_t>(n);
    note(c, fmt::format("a free list holds {:#x}, which is no block of the heap", addr));
  }
}

}  // namespace

HeapCheck check_heap(Process& p, const ContentModel& model) {
  const Process::Untracked quiet(p);
  HeapCheck c;
  const Live live = p.objects.by_address();
  c.live_objects = live.size();
  for (const auto& [id, o] : live) c.live_bytes += o.size;
  check_contents(p, model, live, c);
  check_overlap(live, c);
  census(p, live, c);
  if (c.overhead_bytes >= c.live_bytes) c.overhead_bytes -= c.live_bytes;
  return c;
}

}  // namespace pprsim
