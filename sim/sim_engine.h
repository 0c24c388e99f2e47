// The simulator's engine (sim/engine.h): the group protocol's primitives of sim/group.h over
// virtual processes, with the speculative processes recycled from group to group. The native
// engine (sim/native_engine.h) is this one with the allocator's calls run in worker processes and
// a commit that reaches MAIN's worker too.
#pragma once

#include <memory>
#include <vector>

#include "sim/engine.h"

namespace pprsim {

class SimEngine : public Engine {
 public:
  SimEngine(std::uint64_t memory_limit, std::uint64_t slice_bytes);

  Process& main() override { return *main_; }
  StepOutcome execute(Process& p, const Event& e) override;
  Runner fork_task(int k, const Instance& instance) override;
  std::unique_ptr<Runner> fork_understudy(const std::vector<Instance>& instances) override;
  CommitResult commit(std::vector<Runner>& tasks, std::size_t m) override;
  void adopt_understudy(Runner& understudy) override;
  // The group's processes go back to the spares (a group takes at most G + 1 of them).
  void retire(std::vector<Runner>& tasks, std::unique_ptr<Runner>& understudy) override;

 private:
  // A recycled process to fork into, or null (fork makes one).
  std::unique_ptr<Process> spare_process();

  std::unique_ptr<Process> main_;
  std::vector<std::unique_ptr<Process>> spare_;  // recycled task and understudy processes
};

}  // namespace pprsim
