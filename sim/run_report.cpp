#include "sim/run_report.h"

#include <algorithm>
#include <map>

#include "sim/sim_allocator.h"

namespace pprsim {

void Timeline::add(GroupRecord g, bool worth_showing) {
  if (worth_showing && shown_ < kMaxShown) {
    ++shown_;
    entries_.emplace_back(std::move(g));
    return;
  }
  if (worth_showing) ++not_shown_;
  ++folded_;
  if (!entries_.empty()) {
    if (auto* f = std::get_if<FoldRecord>(&entries_.back())) {
      f->last_group = g.group;
      f->last_line = std::max(f->last_line, g.last_line);
      ++f->groups;
      return;
    }
  }
  entries_.emplace_back(FoldRecord{g.group, g.group, g.first_line, g.last_line, 1});
}

void TaskSpans::add(std::uint32_t first_line, std::uint32_t last_line, int task) {
  if (first_line == 0) return;
  spans_.push_back({first_line, last_line, task});
}

int TaskSpans::task_of(std::uint32_t line) const {
  // Spans come in trace order and do not overlap: the last one starting at or before `line`.
  auto it = std::upper_bound(spans_.begin(), spans_.end(), line, [](std::uint32_t l, const Span& s) { return l < s.first; });
  if (it == spans_.begin()) return -1;
  --it;
  return line <= it->last ? it->task : -1;
}

HeapMap take_heap_map(SimAllocator& alloc, const std::map<Addr, std::uint64_t>& regions, const ObjectTable& objects,
                      const TaskSpans& spans, std::string when, std::uint64_t group) {
  HeapMap m;
  m.when = std::move(when);
  m.group = group;
  m.walked = alloc.has_census();
  const auto live = objects.by_address();  // sorted by address
  auto owner = [&](Addr payload) {
    const auto it = std::lower_bound(live.begin(), live.end(), payload,
                                     [](const auto& o, Addr a) { return o.second.addr < a; });
    return it != live.end() && it->second.addr == payload ? spans.task_of(it->second.born_line) : -1;
  };
  std::size_t runs = 0;
  for (const auto& region : regions) {
    // Named copies, not structured bindings: clang before 16 cannot capture those in the lambda.
    const Addr base = region.first;
    const std::uint64_t size = region.second;
    if (m.regions.size() == HeapMap::kMaxRegions || runs >= HeapMap::kMaxRuns) {
      m.truncated = true;
      break;
    }
    RegionMap r{base, size, {}};
    if (m.walked) {
      alloc.walk_region(base, size, [&](const BlockInfo& b) {
        const char* state = b.kind == BlockInfo::Kind::Live ? "live" : b.kind == BlockInfo::Kind::Free ? "free" : "corrupt";
        const int task = b.kind == BlockInfo::Kind::Live ? owner(b.payload) : -1;
        if (b.kind == BlockInfo::Kind::Live) ++m.live_blocks;
        if (b.kind == BlockInfo::Kind::Free) ++m.free_blocks;
        if (!r.runs.empty()) {
          HeapRun& last = r.runs.back();
          if (last.state == state && last.task == task && last.offset + last.size == b.start - base) {
            last.size += b.size;
            ++last.blocks;
            return;
          }
        }
        if (runs >= HeapMap::kMaxRuns) {
          m.truncated = true;
          return;
        }
        ++runs;
        r.runs.push_back({b.start - base, b.size, state, task, 1});
      });
    }
    m.regions.push_back(std::move(r));
  }
  return m;
}

}  // namespace pprsim
