#include "sim/run_record.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "sim/sim_allocator.h"

namespace pprsim {

namespace {

TaskRecord task_record(int k, const Instance& in, std::string outcome) {
  TaskRecord t;
  t.task = k;
  if (!in.empty()) {
    t.first_line = in.front().line;
    t.last_line = in.back().line;
  }
  t.outcome = std::move(outcome);
  return t;
}

void span_of(GroupRecord& g) {
  for (const TaskRecord& t : g.tasks) {
    if (t.first_line == 0) continue;
    if (g.first_line == 0 || t.first_line < g.first_line) g.first_line = t.first_line;
    g.last_line = std::max(g.last_line, t.last_line);
  }
}

}  // namespace

void RunRecorder::serial_group(std::uint64_t group, const std::vector<Instance>& instances, Process& main) {
  if (!on_) return;
  GroupRecord g;
  g.group = group;
  g.serial = true;
  g.understudy = "none";
  for (std::size_t k = 0; k < instances.size(); ++k) {
    g.tasks.push_back(task_record(static_cast<int>(k), instances[k], "serial"));
  }
  span_of(g);
  if (timeline_.overview().starts_bin()) g.live_bytes = main.objects.bytes();
  g.system_bytes = main.sys.in_use();
  timeline_.add(std::move(g), true);
}

void RunRecorder::group(std::uint64_t group, const std::vector<Instance>& instances, const std::vector<Runner>& tasks,
                        int committed, bool has_understudy, bool understudy_won, std::uint64_t conflicts,
                        Process& main) {
  if (!on_) return;
  GroupRecord g;
  g.group = group;
  g.understudy = !has_understudy ? "none" : understudy_won ? "won" : "lost";
  g.conflicts = conflicts;
  bool quiet = !understudy_won && conflicts == 0;
  for (std::size_t k = 0; k < tasks.size(); ++k) {
    std::string outcome = "aborted";
    if (static_cast<int>(k) < committed) {
      outcome = "committed";
    } else if (tasks[k].state == Runner::State::GaveUp) {
      outcome = "gave-up";
    } else if (tasks[k].state == Runner::State::Crashed) {
      outcome = "crashed";
    }
    if (outcome != "committed") quiet = false;
    TaskRecord t = task_record(static_cast<int>(k), instances[k], std::move(outcome));
    if (static_cast<int>(k) < committed) spans_.add(t.first_line, t.last_line, t.task);
    g.tasks.push_back(std::move(t));
  }
  span_of(g);
  g.system_bytes = main.sys.in_use();
  timeline_.add(std::move(g), !quiet);
}

void RunRecorder::group_done(Process& main) {
  if (!on_) return;
  timeline_.overview().note_memory(main.sys.in_use(), [&main] { return main.objects.bytes(); });
}

void RunRecorder::map_heap(Process& main, const char* when, std::uint64_t groups) {
  if (!on_) return;
  try {
    maps_.push_back(take_heap_map(*main.alloc, main.sys.regions(), main.objects, spans_, when, groups));
  } catch (const std::runtime_error& e) {
    // A heap too broken to walk (a fault, a plugin that failed): the map shows its regions only.
    if (dynamic_cast<const MemoryFault*>(&e) == nullptr && dynamic_cast<const AllocatorFailure*>(&e) == nullptr) throw;
    HeapMap m = take_heap_map(*main.alloc, {}, main.objects, spans_, when, groups);
    for (const auto& [base, size] : main.sys.regions()) m.regions.push_back({base, size, {}});
    m.walked = false;
    maps_.push_back(std::move(m));
  }
}

void RunRecorder::map_before_first_failing_group(Process& main, std::uint64_t group) {
  if (!on_ || failing_mapped_) return;
  map_heap(main, "before the first failing group", group);
}

void RunRecorder::map_first_failing_group(Process& main, std::uint64_t groups) {
  if (!on_ || failing_mapped_) return;
  failing_mapped_ = true;
  map_heap(main, "first failing group", groups);
}

}  // namespace pprsim
