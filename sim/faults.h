// A fault plan: what the run injects, and how often (docs/DESIGN.md section 3.5; `--faults SPEC`).
//   task-abort      a task gives up speculation before any of its events
//   oom             system memory refuses a request made for a group (carve, growth in a task)
//   fork-fail       the fork at a group's start fails: the group runs serially
//   understudy-win  the understudy wins the group's race
//   pressure        system memory refuses a request made outside a group, at most once per call:
//                   asked again in the same call it serves, and a call that returned NULL is made
//                   once more, as a program's out-of-memory handler does (std::new_handler). It
//                   reaches an allocator's paths for a short system: giving back what it keeps,
//                   asking again, and staying whole after a NULL.
// Probabilities are kept as integer parts per million; draws come from the run's own
// "faults" stream, so a seed reproduces every injected fault.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pprsim {

// The SPEC's form and every kind, for --help.
inline constexpr const char* kFaultsHelp =
    "KIND=PROBABILITY,... with KIND one of task-abort, oom, fork-fail, understudy-win, pressure and PROBABILITY in [0, 1]";

struct FaultPlan {
  static constexpr std::uint32_t kOne = 1'000'000;
  std::uint32_t task_abort = 0;
  std::uint32_t oom = 0;
  std::uint32_t fork_fail = 0;
  std::uint32_t understudy_win = 0;
  std::uint32_t pressure = 0;

  // "KIND=PROBABILITY,..." with PROBABILITY a decimal in [0, 1] (at most 6 decimals).
  // Throws std::invalid_argument naming what is wrong. The empty string is no faults.
  static FaultPlan parse(std::string_view spec);
  // The canonical SPEC (empty when no faults), as parse() reads it back.
  std::string to_string() const;
  bool any() const { return task_abort || oom || fork_fail || understudy_win || pressure; }
  friend bool operator==(const FaultPlan&, const FaultPlan&) = default;
};

}  // namespace pprsim
