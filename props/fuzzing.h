// A fuzzing session: generated runs checked against the run properties, each failure shrunk by
// RapidCheck. Used by `pprsim fuzz` and `pprsim selftest`.
//
// Run i of a campaign is always the same case: its RapidCheck seed is derived from the
// campaign's seed and i alone (run_seed), and its size from i, so a campaign split over
// processes (props/fuzz_workers.h) or machines (--shard) checks exactly the cases one process
// would.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "props/run_case.h"

namespace pprsim {

struct Counterexample {
  RunCase shrunk;
  std::vector<std::string> violated;
  int run = 0;  // index of the generated run that failed
  std::uint64_t events_before_minimizing = 0;  // operations as RapidCheck's shrinking left them
};

struct FuzzSession {
  int runs = 0;  // runs checked (of the indices the options select)
  std::vector<Counterexample> found;
  int cut = 0;   // runs started but stopped by the time limit (not among `runs`)
};

struct FuzzOptions {
  std::string allocator = "dmmalloc";
  FaultPlan faults;  // none: every run draws a plan of its own
  std::uint64_t seed = 1;
  int runs = 100;  // the campaign's runs: indices 0 .. runs-1
  // The indices this session checks: first, first + stride, ... below runs (a shard).
  int first = 0;
  int stride = 1;
  bool keep_going = false;  // false: stop at the first counterexample
  // Called after each run, in index order, with the session so far; returning false stops the
  // session there (no later run counts).
  std::function<bool(const FuzzSession&)> progress;
  // Time limits of fuzz_in_workers (props/fuzz_workers.h). No run starts after max_seconds
  // (0: no limit), and the runs still going then are stopped and cut. A run that makes no
  // progress (no replay of its case or of a shrinking candidate returns) for
  // hung_after_seconds() (case_seconds, under a time limit at most the larger of half of it and
  // a second) is stopped and is a failure of its own: it hung.
  double max_seconds = 0;
  double case_seconds = 10;
  double hung_after_seconds() const;
  // Called after every replay a check makes (the workers' sign of progress); may be empty.
  std::function<void()> heartbeat;
};

// The violation of a run stopped because it made no progress for `seconds`.
std::string hung_violation(double seconds);

// The RapidCheck seed of run `index` of the campaign seeded `seed`.
std::uint64_t run_seed(std::uint64_t seed, int index);

// The indices `opt` selects, in order.
std::vector<int> run_indices(const FuzzOptions& opt);

// Checks run `index`: nothing when every property held, else the shrunk counterexample.
std::optional<Counterexample> check_run(const FuzzOptions& opt, int index);

// The case run `index` starts from (before any shrinking).
RunCase generated_case(const FuzzOptions& opt, int index);

// Silences the line RapidCheck prints when it first loads its configuration.
void quiet_rapidcheck_banner();

// Checks the selected runs in this process, one after the other.
FuzzSession fuzz(const FuzzOptions& opt);

}  // namespace pprsim
