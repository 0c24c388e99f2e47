// Fuzzing seeded by the user's own traces (`pprsim fuzz --from TRACE...`): each run is a window
// of one of the traces, turned into PPR groups and changed by mutations that keep the trace's
// shape (sizes nudged across class and page boundaries, frees moved across PPR boundaries,
// calloc, memalign and realloc swapped in, instances merged or split, the group size, seed,
// understudy and faults), so that the neighbourhood of the user's allocation pattern is searched.
// The same mutations serve coverage-guided fuzzing (props/fuzz_guided.h), applied to the cases
// that reached new allocator paths.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "props/run_case.h"
#include "traces/prng.h"

namespace pprsim {

// A trace read whole, for windows to be cut from.
struct SeedTrace {
  std::string name;
  std::vector<Event> events;  // operations only (PPR markers dropped: the runs place their own)
};

// The most operations of one seed trace that are kept (the rest is not read).
inline constexpr std::size_t kMaxSeedEvents = std::size_t{1} << 21;

// Reads each trace. Throws TraceError on bad input (file, line, what was expected) and
// std::invalid_argument for a trace without operations.
std::vector<SeedTrace> load_seed_traces(const std::vector<std::string>& paths);

// Run case of a window of `t`: the objects live at the window's start that it touches are
// allocated first (with their sizes then), the window's operations follow cut into PPR
// instances, then every object still live is freed. Drawn from `rng`: the window, the cut, the
// group size, the seed and the understudy.
RunCase window_case(const SeedTrace& t, Prng& rng);

// `c` changed by 1 to `most` shape-keeping mutations drawn from `rng`, made valid again (see
// normalize_case). `faults`: whether a mutation may set a fault plan.
RunCase mutate_case(const RunCase& c, Prng& rng, int most, bool faults);

// Makes a mutated trace valid: operations on ids not live are dropped (a realloc of one is a
// malloc), an allocation of a live id frees it first, PPR markers are balanced, each object still
// live at the end is freed, and lines are numbered from 2.
void normalize_case(RunCase& c);

}  // namespace pprsim
