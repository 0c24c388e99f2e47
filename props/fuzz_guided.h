// Coverage-guided fuzzing (`pprsim fuzz --guided`): the campaign runs in batches of
// kGuidedBatch runs; after each batch, every run whose case reached an allocator path (a probe
// of alloc/probes.h) or a pair of paths one after the other that no earlier run reached is kept,
// and half the runs of the next batches mutate a kept case (props/fuzz_from.h), those reaching
// the rarest paths most often, instead of generating one. Which cases a batch checks depends only on the seed and the
// batches before it, in index order, never on --jobs or on timing.
#pragma once

#include "props/fuzzing.h"

namespace pprsim {

// Small batches start the guidance soon. Runs `pprsim selftest --runs 2000 --seed S [--guided]`
// needed to catch its slowest mutant, summed over seeds 1-16: 1,836 unguided, 1,438 guided with
// batches of 25 and up to 3 mutations per kept case (fewer at 9 seeds, as many at 1, more at 6).
// With batches of 50 and up to 2 mutations, guided needed as many runs as unguided or more.
inline constexpr int kGuidedBatch = 25;

// The guided session over the indices `opt` selects; `jobs` worker processes
// (props/fuzz_workers.h), or 0 to check the runs in this process. FuzzSession::coverage is the
// campaign's. Throws std::runtime_error when a worker cannot be started.
FuzzSession fuzz_guided(const FuzzOptions& opt, int jobs);

}  // namespace pprsim
