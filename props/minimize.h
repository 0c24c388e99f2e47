// Delta debugging over a trace's structure: given a trace that fails and a test that says
// whether an edited trace still fails the same way, removes whole groups, PPR instances, object
// lifetimes, single events and PPR markers, and halves sizes, until no single removal keeps the
// failure (1-minimal). Every candidate is repaired into a valid trace first (events on objects
// that are no longer live are dropped, reads and writes clamped to the object), so the test
// never sees bad input. Deterministic: the same trace and test give the same result.
//
// Used by `pprsim shrink` (any failing trace) and by `pprsim fuzz` (after RapidCheck's
// shrinking, so that every counterexample it writes is 1-minimal).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/replay.h"
#include "traces/event.h"

namespace pprsim {

// What a failing run failed of is its first falsifying finding kind (sim/findings.h); a shrunk
// trace keeps the first kind the original showed.

// Which properties count as failures besides the replay's verdict.
struct FailureRules {
  bool all_freed_at_end = false;       // the trace frees everything: no block may stay live
};

// The falsifying finding kinds a run shows, in FindingKind order, with those of `rules` (empty:
// it holds every property).
std::vector<FindingKind> failure_kinds(const RunStats& s, const FailureRules& rules = {});

// The events of `trace` made valid: PPR markers paired, events on objects that are not live
// dropped, reads and writes clamped to their object, and with `free_all_at_end` a free appended
// for every object still live at the end. Event lines are left as they are.
std::vector<Event> repair_trace(const std::vector<Event>& trace, bool free_all_at_end);

// The same trace with one object id per incarnation (an id reused after a free gets a new one),
// so that removing a free never makes a later allocation collide with a live object.
std::vector<Event> fresh_ids(const std::vector<Event>& trace);

// The PPR instances `--ppr-every N` cuts from the trace, as explicit ppr/end markers (markers
// already in the trace are dropped, as replay ignores them under --ppr-every).
// requires: ppr_every > 0.
std::vector<Event> with_ppr_markers(const std::vector<Event>& trace, std::uint64_t ppr_every);

struct MinimizeProgress {
  std::string_view pass;     // "prefix", "groups", "instances", "lifetimes", "events", ...
  std::size_t operations;    // operations in the smallest failing trace so far
  std::uint64_t tests;       // candidates tested so far
};

struct MinimizeOptions {
  int group_size = 1;            // instances per group: the unit of the "groups" pass
  bool free_all_at_end = false;  // see repair_trace
  std::uint64_t max_tests = 0;   // stop after this many candidates (0: no limit)
  std::function<void(const MinimizeProgress&)> progress;
};

struct MinimizeResult {
  std::vector<Event> trace;
  std::uint64_t tests = 0;
  bool reproduced = false;  // the (repaired) input failed: false means nothing was shrunk
  bool minimal = false;     // false also when max_tests stopped it before the last full round
};

// Event lines are set to 0: `still_fails` numbers them as the trace written out will have them.
// requires: still_fails(repair_trace(trace)) holds; otherwise the trace is returned repaired,
// with `reproduced` false.
MinimizeResult minimize_trace(std::vector<Event> trace,
                              const std::function<bool(const std::vector<Event>&)>& still_fails,
                              const MinimizeOptions& opt);

}  // namespace pprsim
