// A fuzzing session: generated runs checked against the run properties, each failure shrunk by
// RapidCheck. Used by `pprsim fuzz` and `pprsim selftest`.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "props/run_case.h"

namespace pprsim {

struct Counterexample {
  RunCase shrunk;
  std::vector<std::string> violated;
  int run = 0;  // index of the generated run that failed
};

struct FuzzSession {
  int runs = 0;
  std::vector<Counterexample> found;
};

struct FuzzOptions {
  std::string allocator = "dmmalloc";
  FaultPlan faults;  // none: every run draws a plan of its own
  std::uint64_t seed = 1;
  int runs = 100;
  bool keep_going = false;  // false: stop at the first counterexample
  // Called after each run with the session so far; returning false stops the session.
  std::function<bool(const FuzzSession&)> progress;
};

FuzzSession fuzz(const FuzzOptions& opt);

}  // namespace pprsim
