// Named probe points: the paths through a built-in allocator that matter for PPR safety and for
// the oracle (the carve, a rescue, a deferred free, each kind of list the merge returns, ...).
// A run reports which of them it exercised, so that a user reading VERIFIED learns what the
// verdict covers, and the fuzzer can prefer cases that reach new ones (docs/DESIGN.md section 3.10).
//
// An allocator marks a path with probe(mem_, DmProbe::X). The call reaches the memory only when
// the Memory type has a member `probe(unsigned)`: the simulator's does (sim/sim_memory.h), native
// memory does not, so on the drop-in and benchmark path every probe compiles to nothing.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace pprsim {

struct ProbeInfo {
  std::string_view name;    // short and stable: JSON, reports, tests name probes by it
  std::string_view guards;  // one line: what a bug on this path would break
};

// ---- dmmalloc (alloc/dmmalloc.h) ----
enum class DmProbe : std::uint8_t {
  FastMalloc, SeqSplit, SeqTopCut, SeqJoin, SeqNewChunk, LargeSeq, KeptReuse, LargeRetry,
  TaskPop, TaskSplit, TaskGrow, TaskRegion, TaskLarge, Rescue,
  FastFree, FreeIntoTop, TaskFreeOwn, TaskFreeOwnRegion, DeferredFree,
  KeptKeep, KeptEvict, LargeFreeToSystem, IdlePages,
  CallocSeq, CallocTask, MemalignShim,
  ReallocInPlace, ReallocIntoTop, ReallocGrowRegion, ReallocToRegion, ReallocMove,
  CarveGrow, Carve, CarveSpare, CarveRefused, UnderstudyReturn,
  MergeCommitted, MergeAborted, MergeAdopt, MergeDeferred, MergeDeferredRegion, LearnRescue,
  kCount
};
inline constexpr std::array<ProbeInfo, static_cast<std::size_t>(DmProbe::kCount)> kDmProbes{{
    {"fast-malloc", "SEQ malloc's fast path pops a listed block"},
    {"seq-split", "SEQ splits a larger free block; the rest is tiled onto the lists"},
    {"seq-top-cut", "SEQ cuts a block from the top of the newest chunk"},
    {"seq-join", "SEQ joins neighbouring free blocks before the heap grows; the lists stay disjoint"},
    {"seq-new-chunk", "SEQ grows a chunk; the old top's rest goes to the free lists"},
    {"large-seq", "SEQ maps a fresh region for an object above the largest class"},
    {"kept-region-reuse", "SEQ reuses a kept (freed) large region"},
    {"large-retry", "SEQ evicts every kept region and asks the system again"},
    {"task-pop", "a task pops a block of its own partition (disjoint from other tasks')"},
    {"task-split", "a task splits a larger block inside its partition only"},
    {"task-grow", "a task out of partition memory grows in its own slice, not shared memory"},
    {"task-region", "a task maps a page-sized block's object a region in its slice"},
    {"task-large", "a task maps a large object a region in its slice"},
    {"rescue", "a task gives up speculation without touching shared state"},
    {"fast-free", "SEQ free's fast path pushes a live block onto its list"},
    {"free-into-top", "SEQ free gives an object grown into the top back to the top"},
    {"task-free-own", "a task frees a block it allocated in this group at once (owner tag)"},
    {"task-free-own-region", "a task gives back a region it mapped itself"},
    {"deferred-free", "a task defers the free of a block it does not own to the commit"},
    {"kept-region-keep", "a freed large region is kept for reuse"},
    {"kept-region-evict", "the oldest kept region goes back to the system to make room"},
    {"large-free-to-system", "a freed region too large to keep goes back to the system"},
    {"idle-pages", "free blocks give their interior pages back when the heap grows"},
    {"calloc-seq", "calloc zeroes what malloc returned, in SEQ"},
    {"calloc-task", "calloc zeroes what malloc returned, inside a task"},
    {"memalign-shim", "an aligned object gets a shim header leading back to its block"},
    {"realloc-in-place", "realloc keeps an object whose block already holds the new size"},
    {"realloc-into-top", "realloc grows a block in place into the top"},
    {"realloc-grow-region", "realloc grows a large region (the bytes move with the pages)"},
    {"realloc-to-region", "realloc moves a growing object to a region of its own"},
    {"realloc-move", "realloc copies the object to a new block and frees the old one"},
    {"carve-grow", "the carve cuts blocks to fill every class's quota for g tasks"},
    {"carve", "the carve divides every class's free list into g disjoint partitions"},
    {"carve-spare", "the carve hands tasks free blocks beyond their quota"},
    {"carve-refused", "the carve is refused (system memory) and changes nothing"},
    {"understudy-return", "the understudy returns every partition to the free lists"},
    {"merge-committed", "the merge returns a committed task's unused partition"},
    {"merge-aborted", "the merge returns an aborted task's partition as carved"},
    {"merge-adopt", "the merge adopts what a committed task grew in its slice"},
    {"merge-deferred", "the merge applies a committed task's deferred free of a block"},
    {"merge-deferred-region", "the merge applies a committed task's deferred free of a region"},
    {"learn-rescue", "learn doubles the carve of a class a task gave up on"},
}};

// ---- comalloc (alloc/comalloc.h) ----
enum class CoProbe : std::uint8_t {
  SeqCall, Carve, CarveRefused, TaskPrivate, TaskGrowth, Rescue, TaskMemalign,
  TaskReallocPrivate, TaskReallocToGrowth, TaskReallocBase,
  FreePrivate, FreeGrowth, DeferredFree, CallocTask, CallocSeq,
  UnderstudyReturn, MergeCommitted, MergeAborted, MergeAdopt, MergeDeferred,
  kCount
};
inline constexpr std::array<ProbeInfo, static_cast<std::size_t>(CoProbe::kCount)> kCoProbes{{
    {"seq-call", "SEQ forwards every call to the base heap"},
    {"carve", "the carve takes one private heap per task from the base heap"},
    {"carve-refused", "the carve is refused and every heap taken goes back"},
    {"task-private", "a task allocates from its own private heap"},
    {"task-growth", "a task out of private memory allocates from its growth heap (its slice)"},
    {"rescue", "a task gives up speculation without touching shared state"},
    {"task-memalign", "a task's aligned allocation stays in its own heaps"},
    {"task-realloc-private", "a task resizes a block of its own heaps there"},
    {"task-realloc-to-growth", "a task's private block moves to its growth heap"},
    {"task-realloc-base", "a task moves a base-heap object and defers the old block's free"},
    {"free-private", "a task frees a block of its private heap at once (private bit)"},
    {"free-growth", "a task frees a block of its growth heap at once"},
    {"deferred-free", "a task defers the free of a base-heap block to the commit"},
    {"calloc-task", "calloc zeroes what malloc returned, inside a task"},
    {"calloc-seq", "calloc zeroes what malloc returned, in SEQ"},
    {"understudy-return", "the understudy gives every private heap back whole"},
    {"merge-committed", "the merge rewrites a committed heap's chunks as base-heap chunks"},
    {"merge-aborted", "the merge gives an aborted task's heap back as carved"},
    {"merge-adopt", "the merge adopts a committed task's growth heap"},
    {"merge-deferred", "the merge applies a committed task's deferred free"},
}};

// ---- comalloc's base heap (alloc/dlheap.h), also the tasks' private and growth heaps ----
enum class DlProbe : std::uint8_t {
  BinExact, BinSplit, TopCut, TopExhaust, Grow, Direct, AlignLead,
  ReallocShrink, ReallocIntoTop, ReallocIntoNext, ReallocMove, ReallocDirect,
  CoalescePrev, CoalesceNext, JoinTop, ReleaseSegment, LastBecomesTop, Bin, FreeDirect, Adopt,
  kCount
};
inline constexpr std::array<ProbeInfo, static_cast<std::size_t>(DlProbe::kCount)> kDlProbes{{
    {"bin-exact", "a binned chunk of (about) the right size is taken whole"},
    {"bin-split", "a binned chunk is split; the rest goes back to a bin"},
    {"top-cut", "a chunk is cut from the top"},
    {"top-exhaust", "the top is taken whole (too little left to split)"},
    {"grow", "a new segment becomes the top; the old top goes to a bin"},
    {"direct", "an object gets a region of its own (direct mapping)"},
    {"align-lead", "an aligned chunk frees the lead before the aligned address"},
    {"realloc-shrink", "realloc trims a chunk in place"},
    {"realloc-into-top", "realloc grows a chunk into the top"},
    {"realloc-into-next", "realloc grows a chunk into its free next neighbour"},
    {"realloc-move", "realloc copies a chunk to a new one and frees the old"},
    {"realloc-direct", "realloc of a directly mapped object"},
    {"coalesce-prev", "a freed chunk joins its free previous neighbour"},
    {"coalesce-next", "a freed chunk joins its free next neighbour"},
    {"join-top", "a freed chunk joins the top"},
    {"release-segment", "a wholly free segment goes back to the system"},
    {"last-becomes-top", "the last chunk of a segment becomes the top"},
    {"bin", "a freed chunk goes into its bin"},
    {"free-direct", "a directly mapped object goes back to the system"},
    {"adopt", "the base heap adopts a committed task's growth heap"},
}};

// One numbering for every probe: dmmalloc's first, then comalloc's, then the base heap's.
inline constexpr unsigned kDmProbeFirst = 0;
inline constexpr unsigned kCoProbeFirst = kDmProbeFirst + kDmProbes.size();
inline constexpr unsigned kDlProbeFirst = kCoProbeFirst + kCoProbes.size();
inline constexpr unsigned kProbeCount = kDlProbeFirst + kDlProbes.size();

constexpr unsigned probe_id(DmProbe p) { return kDmProbeFirst + static_cast<unsigned>(p); }
constexpr unsigned probe_id(CoProbe p) { return kCoProbeFirst + static_cast<unsigned>(p); }
constexpr unsigned probe_id(DlProbe p) { return kDlProbeFirst + static_cast<unsigned>(p); }

// The probe families: which allocator's paths a probe id belongs to.
struct ProbeFamily {
  std::string_view name;  // "dmmalloc", "comalloc", "base heap"
  unsigned first;
  unsigned count;
};
inline constexpr std::array<ProbeFamily, 3> kProbeFamilies{{
    {"dmmalloc", kDmProbeFirst, static_cast<unsigned>(kDmProbes.size())},
    {"comalloc", kCoProbeFirst, static_cast<unsigned>(kCoProbes.size())},
    {"base heap", kDlProbeFirst, static_cast<unsigned>(kDlProbes.size())},
}};

// The probe with global id `id` (requires: id < kProbeCount).
constexpr const ProbeInfo& probe_info(unsigned id) {
  if (id < kCoProbeFirst) return kDmProbes[id - kDmProbeFirst];
  if (id < kDlProbeFirst) return kCoProbes[id - kCoProbeFirst];
  return kDlProbes[id - kDlProbeFirst];
}
constexpr const ProbeFamily& probe_family(unsigned id) {
  if (id < kCoProbeFirst) return kProbeFamilies[0];
  if (id < kDlProbeFirst) return kProbeFamilies[1];
  return kProbeFamilies[2];
}

// Marks a path. Nothing at all unless the Memory type records probes.
template <class Mem, class P>
inline void probe(Mem* mem, P p) {
  if constexpr (requires { mem->probe(0u); }) mem->probe(probe_id(p));
}

}  // namespace pprsim
