// Recording a run's picture as it goes (ReplayConfig::record_report; docs/DESIGN.md section 5):
// each group's tasks with their spans of trace lines and outcomes, the overview's memory over
// time, and maps of MAIN's heap at the first failing group and at the end (sim/run_report.h).
// A recorder that is off does nothing.
#pragma once

#include <cstdint>
#include <vector>

#include "sim/group.h"
#include "sim/process.h"
#include "sim/run_report.h"

namespace pprsim {

class RunRecorder {
 public:
  explicit RunRecorder(bool on) : on_(on) {}
  bool on() const { return on_; }

  // Group `group` ran serially in MAIN (the fork failed or the carve was refused).
  void serial_group(std::uint64_t group, const std::vector<Instance>& instances, Process& main);
  // Group `group` ran speculatively: tasks 0..committed-1 committed (0 when the understudy won),
  // with `conflicts` conflicts found in the commit check.
  void group(std::uint64_t group, const std::vector<Instance>& instances, const std::vector<Runner>& tasks,
             int committed, bool has_understudy, bool understudy_won, std::uint64_t conflicts, Process& main);
  // A group is done: MAIN's memory now, for the overview.
  void group_done(Process& main);
  // A map of MAIN's heap now, after `groups` groups; the first failing group's is taken once.
  void map_heap(Process& main, const char* when, std::uint64_t groups);
  void map_first_failing_group(Process& main, std::uint64_t groups);
  // Before the first failing group commits (MAIN's heap as the group found it), named as that
  // group (`group`, numbered from 0).
  void map_before_first_failing_group(Process& main, std::uint64_t group);

  // What was recorded, for RunStats.
  Timeline& timeline() { return timeline_; }
  std::vector<HeapMap>& heap_maps() { return maps_; }

 private:
  bool on_;
  Timeline timeline_;
  std::vector<HeapMap> maps_;
  TaskSpans spans_;              // committed tasks' lines, for the heap map's owners
  bool failing_mapped_ = false;  // the heap map of the first failing group was taken
};

}  // namespace pprsim
