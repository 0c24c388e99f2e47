// The allocator paths a set of traces reaches: each trace replayed on one allocator at one
// group size, and for each probe of alloc/probes.h, how many of the traces reached it. For the
// self-test's question "do these traces reach the path this seeded bug is on?".
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "alloc/probes.h"
#include "sim/coverage.h"

namespace pprsim {

struct TraceCoverage {
  std::vector<std::string> traces;  // the files replayed, in name order
  Coverage merged;
  std::array<std::uint32_t, kProbeCount> traces_reaching{};  // per probe id
};

// Replays every regular file of `dir` whose name ends in `suffix` (in name order) on `allocator`
// at `group_size`, a PPR every `ppr_every` operations, seed 1. Throws TraceError on bad input,
// std::invalid_argument when `dir` holds no such file.
TraceCoverage trace_coverage(const std::string& dir, const std::string& suffix, const std::string& allocator,
                             int group_size, std::uint64_t ppr_every);

}  // namespace pprsim
