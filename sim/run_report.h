// What a run keeps for its picture (the HTML report of tools/html_report.h): the groups worth
// showing, each with its tasks' spans of trace lines and outcomes, the quiet ones folded; and
// maps of the heap (regions, blocks by state and by the task that allocated them) at the first
// failing group and at the end. Both are bounded, so a run of any length keeps a few MB at most.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "alloc/memory.h"
#include "sim/object_table.h"

namespace pprsim {

class SimAllocator;

struct TaskRecord {
  int task = 0;
  std::uint32_t first_line = 0;  // 0 and 0: the instance had no events
  std::uint32_t last_line = 0;
  std::string outcome;  // committed, aborted, gave-up, crashed
};

struct GroupRecord {
  std::uint64_t group = 0;  // the index conflicts_detail uses
  std::uint32_t first_line = 0;
  std::uint32_t last_line = 0;
  bool serial = false;      // the fork failed or the carve was refused: no speculation
  std::string understudy;   // won, lost, none
  std::uint64_t conflicts = 0;
  std::vector<TaskRecord> tasks;
  std::uint64_t live_bytes = 0;    // MAIN's live object bytes when the group was recorded (0: not measured)
  std::uint64_t system_bytes = 0;  // system memory MAIN held then
};

// Consecutive groups with nothing to show (every task committed, no conflict).
struct FoldRecord {
  std::uint64_t first_group = 0;
  std::uint64_t last_group = 0;
  std::uint32_t first_line = 0;
  std::uint32_t last_line = 0;
  std::uint64_t groups = 0;
  std::uint64_t not_shown = 0;  // of which had something to show but came after the cap
  std::uint64_t conflicts = 0;  // conflicts in the folded groups
};

// Every group of a run, in at most kMaxBins bins of `width` consecutive groups each, for the
// whole-run overview: what the groups did, their conflicts and the memory over the trace.
struct OverviewBin {
  std::uint64_t first_group = 0;
  std::uint64_t last_group = 0;
  std::uint32_t first_line = 0;
  std::uint32_t last_line = 0;
  std::uint64_t groups = 0;
  std::uint64_t committed = 0;  // groups whose every task committed
  std::uint64_t aborted = 0;    // groups with a task aborted, given up or crashed, or won by the understudy
  std::uint64_t serial = 0;     // groups run serially
  std::uint64_t conflicts = 0;
  std::uint64_t live_bytes = 0;    // most measured in the bin (at its first group)
  std::uint64_t system_bytes = 0;  // most in the bin
};

class Overview {
 public:
  static constexpr std::size_t kMaxBins = 1024;
  void add(const GroupRecord& g);
  // Whether the next group starts a bin: live bytes cost a walk over the objects, so a run
  // measures them once a bin.
  bool starts_bin() const { return bins_.empty() || bins_.back().groups == width_; }
  const std::vector<OverviewBin>& bins() const { return bins_; }
  std::uint64_t width() const { return width_; }
  // The memory at the end of the group added last; `live` is called for the first group of a bin only.
  template <class Live>
  void note_memory(std::uint64_t system_bytes, Live&& live) {
    if (bins_.empty()) return;
    OverviewBin& b = bins_.back();
    b.system_bytes = std::max(b.system_bytes, system_bytes);
    if (b.groups == 1) b.live_bytes = std::max<std::uint64_t>(b.live_bytes, live());
  }

 private:
  std::vector<OverviewBin> bins_;
  std::uint64_t width_ = 1;
};

class Timeline {
 public:
  static constexpr std::uint64_t kMaxShown = 1000;
  using Entry = std::variant<GroupRecord, FoldRecord>;

  // Keeps `g` whole when it is worth showing and fewer than kMaxShown are kept; folds it into
  // the fold before it otherwise.
  void add(GroupRecord g, bool worth_showing);
  const std::vector<Entry>& entries() const { return entries_; }
  std::uint64_t shown() const { return shown_; }
  std::uint64_t folded() const { return folded_; }
  // Groups worth showing that were folded because kMaxShown were shown already.
  std::uint64_t not_shown() const { return not_shown_; }
  const Overview& overview() const { return overview_; }
  Overview& overview() { return overview_; }

 private:
  std::vector<Entry> entries_;
  std::uint64_t shown_ = 0;
  std::uint64_t folded_ = 0;
  std::uint64_t not_shown_ = 0;
  Overview overview_;
};

// Which committed task made the objects born on a line: the spans of committed tasks, in trace
// order. Lines outside every span were run by MAIN (sequential code, serial re-runs, the
// understudy's work).
class TaskSpans {
 public:
  void add(std::uint32_t first_line, std::uint32_t last_line, int task);
  // The task whose span holds `line`, or -1 (MAIN).
  int task_of(std::uint32_t line) const;

 private:
  struct Span {
    std::uint32_t first, last;
    int task;
  };
  std::vector<Span> spans_;
};

// A run of adjacent blocks of one state and owner in a region.
struct HeapRun {
  std::uint64_t offset = 0;  // from the region's base
  std::uint64_t size = 0;
  std::string state;         // live, free, corrupt; double, overlap, lost (see take_heap_map)
  int task = -1;             // live: the task that allocated it (-1: MAIN); others: -1
  std::uint64_t blocks = 0;
};

struct RegionMap {
  Addr base = 0;
  std::uint64_t size = 0;
  std::vector<HeapRun> runs;
};

struct HeapMap {
  static constexpr std::size_t kMaxRuns = 20000;
  static constexpr std::size_t kMaxRegions = 256;
  std::string when;          // "before the first failing group", "first failing group", "end of the run", "where the run stopped"
  std::uint64_t group = 0;   // groups run when it was taken
  bool walked = true;        // false: the allocator has no census walks (regions only)
  bool truncated = false;    // more regions or runs than the limits
  std::uint64_t live_blocks = 0;
  std::uint64_t free_blocks = 0;
  std::uint64_t failed_blocks = 0;  // double, overlap, lost or corrupt
  std::vector<RegionMap> regions;
};

// The heap of a process now: its system regions, walked by its allocator.
HeapMap take_heap_map(SimAllocator& alloc, const std::map<Addr, std::uint64_t>& regions, const ObjectTable& objects,
                      const TaskSpans& spans, std::string when, std::uint64_t group);

}  // namespace pprsim
