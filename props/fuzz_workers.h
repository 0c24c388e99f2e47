// A fuzz session spread over worker processes (`pprsim fuzz --jobs N`). The parent forks N
// workers, hands each one run index at a time over a pipe, and gets back whether the run held
// and, if not, the shrunk counterexample. Results are taken in index order, so the session
// (runs counted, counterexamples, the progress callback's calls) is the one fuzz() gives in a
// single process, whatever N is and however the runs interleave.
//
// A worker that dies (a crash in the allocator or the simulator, a kill) makes its run a
// failure whose case is the generated one and whose violation says how the worker ended; the
// session goes on with a fresh worker. Workers die with the parent (SIGINT, SIGTERM or any
// other end of it never leaves one running).
#pragma once

#include "props/fuzzing.h"

namespace pprsim {

// The processors this process may run on.
int available_cores();

// Runs the session in `jobs` worker processes (at least 1). Throws std::runtime_error when a
// worker cannot be started.
FuzzSession fuzz_in_workers(const FuzzOptions& opt, int jobs);

}  // namespace pprsim
