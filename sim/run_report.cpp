#include "sim/run_report.h"

#include <algorithm>
#include <map>

#include "sim/conflicts.h"
#include "sim/sim_allocator.h"

namespace pprsim {

void Overview::add(const GroupRecord& g) {
  if (bins_.empty() || bins_.back().groups == width_) {
    if (bins_.size() == kMaxBins) {
      // Twice as many groups a bin: neighbours merge.
      std::vector<OverviewBin> merged;
      merged.reserve(kMaxBins / 2 + 1);
      for (std::size_t i = 0; i < bins_.size(); i += 2) {
        OverviewBin b = bins_[i];
        if (i + 1 < bins_.size()) {
          const OverviewBin& n = bins_[i + 1];
          b.last_group = n.last_group;
          b.first_line = b.first_line == 0 ? n.first_line : b.first_line;
          b.last_line = std::max(b.last_line, n.last_line);
          b.groups += n.groups;
          b.committed += n.committed;
          b.aborted += n.aborted;
          b.serial += n.serial;
          b.conflicts += n.conflicts;
          b.live_bytes = std::max(b.live_bytes, n.live_bytes);
          b.system_bytes = std::max(b.system_bytes, n.system_bytes);
        }
        merged.push_back(b);
      }
      bins_ = std::move(merged);
      width_ *= 2;
    }
    if (bins_.empty() || bins_.back().groups == width_) bins_.push_back(OverviewBin{g.group, g.group, g.first_line, g.last_line});
  }
  OverviewBin& b = bins_.back();
  b.last_group = g.group;
  if (b.first_line == 0) b.first_line = g.first_line;
  b.last_line = std::max(b.last_line, g.last_line);
  ++b.groups;
  bool all_committed = !g.serial && g.understudy != "won";
  for (const TaskRecord& t : g.tasks) all_committed = all_committed && t.outcome == "committed";
  if (g.serial) {
    ++b.serial;
  } else if (all_committed) {
    ++b.committed;
  } else {
    ++b.aborted;
  }
  b.conflicts += g.conflicts;
  b.live_bytes = std::max(b.live_bytes, g.live_bytes);
  b.system_bytes = std::max(b.system_bytes, g.system_bytes);
}

void Timeline::add(GroupRecord g, bool worth_showing) {
  overview_.add(g);
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
      f->not_shown += worth_showing ? 1 : 0;
      f->conflicts += g.conflicts;
      return;
    }
  }
  entries_.emplace_back(FoldRecord{g.group, g.group, g.first_line, g.last_line, 1, worth_showing ? 1u : 0u, g.conflicts});
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

namespace {

// What the map shows of one block: its state, with the failures in states of their own.
// double: two live objects in one block, or an object in a free block; overlap: an object that
// runs past its block's usable bytes; lost: a live block that holds no object, or a free block
// on no free list (as the heap check counts them, sim/oracle.h).
struct BlockState {
  const char* state;
  int task;
};

BlockState classify(const BlockInfo& b, const ObjectList& live, const std::vector<Addr>& listed, bool lists_known,
                    const TaskSpans& spans) {
  if (b.kind == BlockInfo::Kind::Corrupt) return {"corrupt", -1};
  auto it = std::lower_bound(live.begin(), live.end(), b.start, [](const auto& o, Addr a) { return o.second.addr < a; });
  int inside = 0, fits = 0, task = -1;
  for (; it != live.end() && it->second.addr < b.start + b.size; ++it) {
    const Object& o = it->second;
    ++inside;
    if (b.kind == BlockInfo::Kind::Live && o.addr >= b.payload && o.addr + o.size <= b.payload + b.usable) {
      if (fits++ == 0) task = spans.task_of(o.born_line);
    }
  }
  if (b.kind == BlockInfo::Kind::Free) {
    if (inside > 0) return {"double", -1};
    if (lists_known && !std::binary_search(listed.begin(), listed.end(), b.start)) return {"lost", -1};
    return {"free", -1};
  }
  if (fits > 1) return {"double", task};
  if (inside > fits) return {"overlap", task};
  if (fits == 0) return {"lost", -1};
  return {"live", task};
}

bool is_failure_state(std::string_view s) { return s == "double" || s == "overlap" || s == "lost" || s == "corrupt"; }

}  // namespace

HeapMap take_heap_map(SimAllocator& alloc, const std::map<Addr, std::uint64_t>& regions, const ObjectTable& objects,
                      const TaskSpans& spans, std::string when, std::uint64_t group) {
  HeapMap m;
  m.when = std::move(when);
  m.group = group;
  m.walked = alloc.has_census();
  const ObjectList live = objects.by_address();  // sorted by address
  // The blocks the free lists hold, to tell a lost free block from a listed one; a list that
  // leads out of the heap leaves them unknown (no block is called lost for it).
  std::vector<Addr> listed;
  bool lists_known = false;
  if (m.walked && !regions.empty()) {
    try {
      alloc.walk_free(std::uint64_t{1} << 24, [&](const FreeEntry& f) { listed.push_back(f.block); });
      std::sort(listed.begin(), listed.end());
      lists_known = true;
    } catch (const MemoryFault&) {
      listed.clear();
    }
  }
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
        const BlockState bs = classify(b, live, listed, lists_known, spans);
        const char* state = bs.state;
        const int task = bs.task;
        if (b.kind == BlockInfo::Kind::Live) ++m.live_blocks;
        if (b.kind == BlockInfo::Kind::Free) ++m.free_blocks;
        if (is_failure_state(state)) ++m.failed_blocks;
        // Failing blocks stay runs of their own, so that each is drawn and named.
        if (!r.runs.empty() && !is_failure_state(state)) {
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
