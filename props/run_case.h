// A whole run as one value: a trace, a group size, a scheduler seed, an understudy setting and
// a fault plan. RapidCheck generates and shrinks these (props tests and `pprsim fuzz`); a
// shrunk failure is written back as a native trace with the replay command that reproduces it.
#pragma once

#include <rapidcheck.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sim/faults.h"
#include "sim/replay.h"
#include "traces/event.h"

namespace pprsim {

// Generated runs check the whole heap after every sequential event (the command line's default
// is every 1000), so that a wrong byte is seen before its object is freed; the replay command
// of a case says so.
inline constexpr std::uint64_t kCaseCheckEvery = 1;
// The largest object a run case holds: its byte encoding (props/run_case_bytes.h) can express no
// larger, so growth by reallocs stops here.
inline constexpr std::uint64_t kMaxCaseSize = std::uint64_t{1} << 22;

struct RunCase {
  std::vector<Event> trace;  // native events, markers included, lines numbered from 2
  int group_size = 2;
  std::uint64_t seed = 1;
  UnderstudyMode understudy = UnderstudyMode::Auto;
  FaultPlan faults;

  std::uint64_t operations() const;
};

struct RunCaseOptions {
  bool with_faults = false;  // draw a fault plan too
  FaultPlan fixed_faults;    // used when with_faults is false
};

// What the generators draw for one trace operation; assemble_run_case turns a list of these
// into a valid trace, whatever shrinking (or a fuzzer) did to it.
struct GenOp {
  enum Kind : std::uint8_t { Malloc, Calloc, Memalign, Realloc, Free, Write, Use, Burst, kKinds } kind = Malloc;
  std::uint64_t size = 0;
  std::uint32_t pick = 0;  // which live object (modulo the number live)
  std::uint32_t aux = 0;   // calloc count, alignment shift, offset seed, burst length
};

// Swarm testing: each generated run enables a random subset of the operation kinds and one way
// of choosing sizes and objects, so that rare combinations are not drowned out by the common
// ones (a run of only mallocs and frees of one size class exhausts a partition; a run that
// frees only the oldest objects frees across groups and tasks at every step). The default
// enables everything: the plain generator.
struct Swarm {
  std::uint32_t kinds = ~0u;  // bit k: GenOp::Kind k is carried out (malloc always is)
  // Recent: mostly the object the previous operation on an object touched, so that one object
  // passes from task to task (a realloc that moves it in one task, its free in the next).
  enum class Pick : std::uint8_t { Any, Oldest, Newest, Recent } pick = Pick::Any;
  enum class Sizes : std::uint8_t { Mixed, OneClass, Large } sizes = Sizes::Mixed;
  bool class_hops = false;  // reallocs double or halve their object, moving it between classes

  bool enabled(GenOp::Kind k) const { return (kinds >> k & 1u) != 0; }
  // The drawn size, moved into the run's size range (shrinking still moves it towards 0).
  std::uint64_t size(std::uint64_t drawn) const {
    switch (sizes) {
      case Sizes::OneClass: return 17 + drawn % 32;  // one or two small classes
      case Sizes::Large: return 2048 + drawn % 300000;
      case Sizes::Mixed: break;
    }
    return drawn;
  }
};

// The run case of these operations: the prologue, then each instance inside ppr/end, then a
// free of every object still live.
RunCase assemble_run_case(const std::vector<GenOp>& prologue, const std::vector<std::vector<GenOp>>& instances,
                          int group_size, std::uint64_t seed, UnderstudyMode understudy, const FaultPlan& faults,
                          const Swarm& swarm = {});

// Traces mix sizes from 0 to above the largest size class, calloc, memalign, realloc up and
// down, frees of objects from before the group, of the same task and of other tasks, program
// reads and writes; every object still live at the end is freed, so the final heap must hold
// no live block.
rc::Gen<RunCase> gen_run_case(RunCaseOptions opt = {});

// The native text of the case's trace.
std::string trace_text(const RunCase& c);

RunStats run_case(const RunCase& c, const std::string& allocator);

// The `pprsim replay` arguments that reproduce the case from `trace_path`.
std::string replay_command(const RunCase& c, const std::string& allocator, const std::string& trace_path);

// The properties every PPR-aware allocator must hold on every run; each violated one is
// returned as a line. `replay_again` also checks that a second run gives the same JSON.
std::vector<std::string> violations(const RunCase& c, const RunStats& s, const std::string& allocator,
                                    bool replay_again);

void showValue(const RunCase& c, std::ostream& os);

}  // namespace pprsim
