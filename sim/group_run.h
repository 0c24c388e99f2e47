// Running one PPR group of a replay (docs/DESIGN.md section 1): the carve in MAIN, the tasks and
// the understudy forked through the engine, the seeded race between them, the commit check, the
// commit of the tasks that passed or the understudy's heap taking over, the serial re-run of the
// rest, and the heap check after the group. A carve that system memory refuses splits the group,
// then runs it serially; so does an injected fork failure.
#pragma once

#include <vector>

#include "sim/run_context.h"
#include "sim/trace_cut.h"

namespace pprsim {

// Runs `instances` (at most the group size of them) as the run's next group. Every group that
// runs, speculatively or serially, takes the next group number (RunStats::groups).
// Throws RunFailure or MappedBefore to end the run.
void run_group(RunContext& run, const std::vector<Instance>& instances);

}  // namespace pprsim
