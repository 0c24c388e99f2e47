#include "sim/oracle.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>
#include <utility>

#include "sim/pattern.h"
#include "sim/sim_allocator.h"

namespace pprsim {

namespace {

// A finding of the check: `n` of kind `k` at `addr` (0: none) of object `object` (-1: none).
void find(HeapCheck& c, FindingKind k, std::string text, Addr addr = 0, std::int64_t object = -1, std::uint64_t n = 1) {
  c.findings.add({.kind = k, .addr = addr, .object = object, .text = std::move(text)}, n);
}

// A lost block: found, and kept by address (the first kMaxLost) so that a search can tell
// where each went missing.
void lose(HeapCheck& c, Addr start, std::uint64_t size, std::string text) {
  find(c, FindingKind::LostBlock, std::move(text), start);
  c.lost_bytes += size;
  if (c.lost.size() < HeapCheck::kMaxLost) c.lost.push_back({start, size});
}

using Live = std::vector<std::pair<std::int64_t, Object>>;

// An object's footprint for overlap purposes: malloc(0) still owns one distinct address.
std::uint64_t footprint(std::uint64_t size) { return size == 0 ? 1 : size; }

// Checks bytes [lo, hi) of object `id` (at o, expected x) against the reference, a page at a
// time where the bytes are. Returns false on a mismatch (found).
bool check_object_bytes(Process& p, std::int64_t id, const Object& o, const ContentModel::Expected& x,
                        std::uint64_t lo, std::uint64_t hi, HeapCheck& c) {
  bool bad = false;
  ContentModel::for_runs(x, [&](std::uint64_t run_off, std::uint32_t stamp, std::uint64_t run_len) {
    const Pattern want(id, stamp);
    std::uint64_t off = std::max(run_off, lo);
    const std::uint64_t end = std::min(run_off + run_len, hi);
    while (off < end && !bad) {
      const Addr at_addr = o.addr + off;
      const std::uint64_t pn = at_addr / kPageSize;
      const std::uint64_t len = std::min(end - off, kPageSize - at_addr % kPageSize);
      // A page that holds this very fill's pattern holds the expected bytes, whole or in part.
      AddressSpace::PatternRef pat;
      if (p.space.pattern_of(pn, pat) && pat.id == id && pat.stamp == stamp && pat.base == o.addr) {
        off += len;
        continue;
      }
      const std::uint8_t* page = nullptr;
      try {
        page = p.space.page_bytes(pn);
      } catch (const MemoryFault& f) {
        bad = true;
        find(c, FindingKind::ContentMismatch,
             fmt::format("object {} at {:#x} is not in mapped memory ({})", id, o.addr, f.what()), o.addr, id);
        return;
      }
      const std::uint8_t* got = page + at_addr % kPageSize;
      if (const std::uint64_t i = want.mismatch(off, got, len); i != len) {
        bad = true;
        find(c, FindingKind::ContentMismatch,
             fmt::format("object {} at {:#x}: byte {} is {:#04x}, expected {:#04x} (written at line {})", id, o.addr,
                         off + i, got[i], want.byte(off + i), stamp),
             o.addr + off + i, id);
        return;
      }
      off += len;
    }
  });
  return !bad;
}

// The reference of a live object, or a found mismatch (nullptr).
const ContentModel::Expected* expected_of(const ContentModel& model, std::int64_t id, const Object& o, HeapCheck& c) {
  const ContentModel::Expected* x = model.find(id);
  if (x == nullptr || x->size != o.size) {
    find(c, FindingKind::ContentMismatch,
         fmt::format("object {} is live with {} bytes, the sequential run has {}", id, o.size,
                     x == nullptr ? std::string("no such object") : fmt::format("{} bytes", x->size)),
         o.addr, id);
    return nullptr;
  }
  return x;
}

void check_count(const ContentModel& model, std::size_t live, HeapCheck& c) {
  if (model.size() != live) {
    find(c, FindingKind::ContentMismatch, fmt::format("{} objects are live, the sequential run has {}", live, model.size()));
  }
}

void check_contents(Process& p, const ContentModel& model, const Live& live, HeapCheck& c) {
  for (const auto& [id, o] : live) {
    const ContentModel::Expected* x = expected_of(model, id, o, c);
    if (x != nullptr) check_object_bytes(p, id, o, *x, 0, o.size, c);
  }
  check_count(model, live.size(), c);
}

void check_overlap(const Live& live, HeapCheck& c) {
  for (std::size_t i = 1; i < live.size(); ++i) {
    const auto& [a_id, a] = live[i - 1];
    const auto& [b_id, b] = live[i];
    if (a.addr + footprint(a.size) > b.addr) {
      find(c, FindingKind::Overlap, fmt::format("objects {} and {} overlap at {:#x}: handed out twice", a_id, b_id, b.addr),
           b.addr, b_id);
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
        find(c, FindingKind::LostBlock,
             fmt::format("region {:#x}: the block walk left {:#x}..{:#x} unaccounted", base, cursor, b.start), cursor);
        break;
      }
      cursor = b.start + b.size;
      if (b.kind == BlockInfo::Kind::Corrupt) {
        lose(c, b.start, b.size, fmt::format("{} bytes at {:#x} hold no valid block header", b.size, b.start));
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
        find(c, FindingKind::DoubleAllocation,
             fmt::format("object {} at {:#x} lies in the free block {:#x}", live[k].first, o.addr, b.start), o.addr,
             live[k].first);
      }
    }
    if (b.kind == BlockInfo::Kind::Live) {
      ++c.live_blocks;
      c.overhead_bytes += b.size;
      if (inside == 0) {
        lose(c, b.start, b.size, fmt::format("live block {:#x} ({} bytes) holds no live object: lost", b.start, b.size));
      } else if (inside > 1) {
        find(c, FindingKind::DoubleAllocation, fmt::format("block {:#x} holds {} live objects", b.start, inside), b.start,
             -1, static_cast<std::uint64_t>(inside - 1));
      }
    } else if (b.kind == BlockInfo::Kind::Free) {
      c.free_bytes += b.size;
    }
  }
  for (std::size_t k = 0; k < live.size(); ++k) {
    if (holders[k] == 0) {
      find(c, FindingKind::DoubleAllocation,
           fmt::format("object {} at {:#x} is in no live block of the heap", live[k].first, live[k].second.addr),
           live[k].second.addr, live[k].first);
    }
  }
  // Free lists: each free block exactly once, nothing else. The listed addresses, sorted, are
  // matched against the blocks (in address order: regions by base, blocks by the walk).
  std::vector<Addr> listed;
  std::uint64_t budget = blocks.size() + 1;
  try {
    p.alloc->walk_free(budget, [&](const FreeEntry& f) { listed.push_back(f.block); });
  } catch (const MemoryFault& f) {
    find(c, FindingKind::DoubleAllocation, fmt::format("a free list leads out of the heap ({})", f.what()));
  }
  std::sort(listed.begin(), listed.end());
  std::size_t k = 0;
  std::vector<std::pair<Addr, int>> strays;  // listed addresses that start no block
  auto take = [&](Addr a) {
    int n = 0;
    for (; k < listed.size() && listed[k] == a; ++k) ++n;
    return n;
  };
  for (const BlockInfo& b : blocks) {
    while (k < listed.size() && listed[k] < b.start) {
      const Addr a = listed[k];
      strays.emplace_back(a, take(a));
    }
    const int n = take(b.start);
    if (b.kind == BlockInfo::Kind::Free) {
      if (n == 0) {
        lose(c, b.start, b.size, fmt::format("free block {:#x} ({} bytes) is on no free list: lost", b.start, b.size));
      } else if (n > 1) {
        find(c, FindingKind::DoubleAllocation, fmt::format("free block {:#x} is on the free lists {} times", b.start, n),
             b.start, -1, static_cast<std::uint64_t>(n - 1));
      }
    } else if (n > 0 && b.kind == BlockInfo::Kind::Live) {
      find(c, FindingKind::LiveAfterFree,
           fmt::format("block {:#x} is on a free list but its header says it is handed out", b.start), b.start, -1,
           static_cast<std::uint64_t>(n));
    }
  }
  while (k < listed.size()) {
    const Addr a = listed[k];
    strays.emplace_back(a, take(a));
  }
  for (const auto& [addr, n] : strays) {
    find(c, FindingKind::DoubleAllocation, fmt::format("a free list holds {:#x}, which is no block of the heap", addr),
         addr, -1, static_cast<std::uint64_t>(n));
  }
}

}  // namespace

namespace {

// The full check over `live`, the process's objects by address.
HeapCheck check_live(Process& p, const ContentModel& model, const Live& live) {
  const Process::Untracked quiet(p);
  HeapCheck c;
  c.live_objects = live.size();
  for (const auto& [id, o] : live) c.live_bytes += o.size;
  check_contents(p, model, live, c);
  check_overlap(live, c);
  if (p.alloc->has_census()) census(p, live, c);
  if (c.overhead_bytes >= c.live_bytes) c.overhead_bytes -= c.live_bytes;
  return c;
}

}  // namespace

HeapCheck check_heap(Process& p, const ContentModel& model) { return check_live(p, model, p.objects.by_address()); }

HeapCheck check_census(Process& p) {
  const Process::Untracked quiet(p);
  HeapCheck c;
  if (p.alloc->has_census()) census(p, p.objects.by_address(), c);
  return c;
}

void HeapOracle::update_index(Process& p) {
  std::sort(touched_.begin(), touched_.end());
  touched_.erase(std::unique(touched_.begin(), touched_.end()), touched_.end());
  for (const std::int64_t id : touched_) {
    Placed* at = where_.find(id);
    const Object* o = p.objects.find(id);
    if (at != nullptr && o != nullptr && at->addr == o->addr) {  // written or resized in place
      if (at->size != o->size) {
        index_[{o->addr, id}] = o->size;
        at->size = o->size;
      }
      continue;
    }
    if (at != nullptr) {
      index_.erase({at->addr, id});
      where_.erase(id);
    }
    if (o != nullptr) {
      index_.insert({{o->addr, id}, o->size});
      where_.try_emplace(id, Placed{o->addr, o->size});
    }
  }
}

HeapCheck HeapOracle::check_changes(Process& p, const ContentModel& model) {
  const Process::Untracked quiet(p);
  HeapCheck c;
  update_index(p);
  std::set<std::pair<std::int64_t, std::int64_t>> overlaps;  // each pair reported once
  // a = (id, address, size) starts before b = (id, address).
  auto overlap = [&](std::int64_t a_id, Addr a_addr, std::uint64_t a_size, std::int64_t b_id, Addr b_addr) {
    if (a_addr + footprint(a_size) > b_addr && overlaps.insert({a_id, b_id}).second) {
      find(c, FindingKind::Overlap, fmt::format("objects {} and {} overlap at {:#x}: handed out twice", a_id, b_id, b_addr),
           b_addr, b_id);
    }
  };
  // Touched objects of a page or more, [addr, end): a written page inside one of them is done
  // with once its whole contents are checked here. Any other live object there would overlap
  // it, which the neighbours in the index show.
  std::vector<std::pair<Addr, Addr>> whole;
  for (const std::int64_t id : touched_) {
    const Object* o = p.objects.find(id);
    if (o == nullptr) {
      if (model.find(id) != nullptr) {
        find(c, FindingKind::ContentMismatch,
             fmt::format("object {} is gone from the heap, the sequential run still has it", id), 0, id);
      }
      continue;
    }
    const ContentModel::Expected* x = expected_of(model, id, *o, c);
    if (x != nullptr) check_object_bytes(p, id, *o, *x, 0, o->size, c);
    if (o->size >= kPageSize) whole.emplace_back(o->addr, o->addr + o->size);
    // The neighbours in address order, as the index has them (brought up to date above).
    const auto it = index_.find({o->addr, id});
    if (it != index_.begin()) {
      const auto prev = std::prev(it);
      overlap(prev->first.second, prev->first.first, prev->second, id, o->addr);
    }
    if (const auto next = std::next(it); next != index_.end()) {
      overlap(id, o->addr, o->size, next->first.second, next->first.first);
    }
  }
  // Objects on written pages: their bytes there. Both lists ascend: `reach` is the furthest
  // end of the large touched objects that start at or before the page.
  std::sort(whole.begin(), whole.end());
  std::size_t next_whole = 0;
  Addr reach = 0;
  for (const std::uint64_t pn : p.space.take_dirty()) {
    const Addr lo = pn * kPageSize;
    const Addr hi = lo + kPageSize;
    for (; next_whole < whole.size() && whole[next_whole].first <= lo; ++next_whole) {
      reach = std::max(reach, whole[next_whole].second);
    }
    if (reach >= hi) continue;
    auto it = index_.lower_bound({lo, std::numeric_limits<std::int64_t>::min()});
    if (it != index_.begin()) --it;  // the object that starts before the page may reach into it
    for (; it != index_.end() && it->first.first < hi; ++it) {
      const std::int64_t id = it->first.second;
      const Object o{.addr = it->first.first, .size = it->second};
      if (o.addr + o.size <= lo || std::binary_search(touched_.begin(), touched_.end(), id)) continue;
      const ContentModel::Expected* x = expected_of(model, id, o, c);
      if (x == nullptr) continue;
      const std::uint64_t from = std::max(lo, o.addr) - o.addr;
      const std::uint64_t to = std::min(hi, o.addr + o.size) - o.addr;
      check_object_bytes(p, id, o, *x, from, to, c);
    }
  }
  touched_.clear();
  c.live_objects = p.objects.size();
  check_count(model, c.live_objects, c);
  return c;
}

std::vector<std::pair<std::int64_t, Object>> HeapOracle::live_by_address(Process& p) {
  // The index the incremental checks keep, brought up to date, is the live objects in address
  // order, if each entry names a live object at its address and there are as many entries as
  // objects (entries are distinct pairs, so no id can be there twice). Checked so, it saves
  // sorting the whole table; where it disagrees, the table's own sort is used and the index
  // rebuilt from it.
  update_index(p);
  touched_.clear();
  Live live;
  live.reserve(index_.size());
  bool agree = index_.size() == p.objects.size();
  for (auto it = index_.begin(); agree && it != index_.end(); ++it) {
    const auto& [at, id] = it->first;
    const Object* o = p.objects.find(id);
    agree = o != nullptr && o->addr == at && o->size == it->second;
    if (agree) live.emplace_back(id, *o);
  }
  if (agree) return live;
  live = p.objects.by_address();
  index_.clear();
  where_.clear();
  for (const auto& [id, o] : live) {
    index_.emplace_hint(index_.end(), std::pair{o.addr, id}, o.size);  // sorted: each lands at the end
    where_.try_emplace(id, Placed{o.addr, o.size});
  }
  return live;
}

HeapCheck HeapOracle::check_all(Process& p, const ContentModel& model) {
  HeapCheck c = check_live(p, model, live_by_address(p));
  (void)p.space.take_dirty();
  return c;
}

}  // namespace pprsim
