// What a run establishes, as typed findings (docs/DESIGN.md section 3.9). Every checker (the
// conflict check, the heap oracle, the commit, the driver when the allocator fails) emits
// findings; the verdict, the fuzz properties, shrink's "fails the same way", the text report, the
// JSON and the HTML all read them. A new check is its checker plus its kind in the table of
// sim/findings.cpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "alloc/memory.h"

namespace pprsim {

// In the order shrink and fuzz prefer them: a failing run "fails the same way" as another when
// the first falsifying kind of each is the same.
enum class FindingKind : std::uint8_t {
  AllocatorInduced,  // two tasks conflict on bytes the program never shared (allocator metadata)
  TrueDependence,    // a task read what an earlier task of its group wrote (the program's own)
  LostBlock,         // a block no live object and no free list accounts for
  DoubleAllocation,  // bytes handed out twice (an object in a free block, a block listed twice, ...)
  Overlap,           // two live objects share bytes
  ContentMismatch,   // an object's bytes differ from the sequential run
  LiveAfterFree,     // a block on a free list whose header still says it is handed out
  OutsideSlice,      // a committed task obtained system memory outside its own slice
  RequestFailed,     // malloc returned NULL, or the allocator gave up where it may not
  BadResult,         // the allocator returned an address no block can have
  Fault,             // the allocator touched memory it never obtained
  Crashed,           // the allocator raised a fatal signal (sim/call_guard.h)
  Hung,              // an allocator call did not return in time
  InvariantBroken,   // the allocator's own verify() failed (the paranoid level)
  LeftHandedOut,     // blocks still handed out after a trace that frees everything (fuzz property)
  Stopped,           // the run could not go on for another reason (the trace and heap disagree)
  Unexplained,       // the simulator saw what its model cannot explain; does not falsify
};
inline constexpr std::size_t kFindingKinds = static_cast<std::size_t>(FindingKind::Unexplained) + 1;

struct FindingKindInfo {
  std::string_view key;   // in the JSON's `findings` counts: "allocator-induced", "lost-block", ...
  std::string_view name;  // in words: "allocator-induced conflict", "lost block", ...
  bool falsifies;         // one of these and the run is not VERIFIED
  bool stops;             // found, it ends the run (RunStats::failure says it in words)
};
const FindingKindInfo& finding_info(FindingKind k);

// One thing a checker found. Fields a checker cannot tell stay at their defaults.
struct Finding {
  FindingKind kind = FindingKind::Stopped;
  std::int64_t group = -1;   // numbered from 0, as everywhere
  int task = -1;             // -1: MAIN, sequential code or no task
  std::uint32_t line = 0;    // trace line (0: none)
  Addr addr = 0;             // the block, object or bytes concerned (0: none)
  std::int64_t object = -1;  // the trace's object id (-1: none)
  std::string text;          // one line, as the report prints it
};

// The findings of a check or a run: complete counts per kind, and the first few findings in the
// order they were made.
class Findings {
 public:
  static constexpr std::size_t kKept = 20;

  // Counts `f` `n` times (a census may find n blocks listed twice at once) and keeps it while
  // fewer than `keep_at_most` are kept.
  void add(Finding f, std::uint64_t n = 1, std::size_t keep_at_most = kKept);
  // Counts n findings of kind k that are described elsewhere (conflicts: their own details).
  void tally(FindingKind k, std::uint64_t n = 1) { counts_[static_cast<std::size_t>(k)] += n; }
  // Everything `other` found, its kept findings while fewer than `keep_at_most` are kept here;
  // those that name no group get `group`.
  void take(Findings&& other, std::size_t keep_at_most = kKept, std::int64_t group = -1);

  std::uint64_t count(FindingKind k) const { return counts_[static_cast<std::size_t>(k)]; }
  bool falsified() const;
  // The falsifying kinds found, in FindingKind order.
  std::vector<FindingKind> falsifying_kinds() const;
  // Any of the heap oracle's kinds (lost, double, overlap, contents, live after free).
  bool heap_wrong() const;
  const std::vector<Finding>& kept() const { return kept_; }

 private:
  std::array<std::uint64_t, kFindingKinds> counts_{};
  std::vector<Finding> kept_;
};

}  // namespace pprsim
