// The simulator's engine (sim/engine.h): the group protocol's primitives of sim/group.h over
// virtual processes, with the speculative processes recycled from group to group.

#include <memory>
#include <utility>
#include <vector>

#include "sim/engine.h"
#include "sim/executor.h"
#include "sim/group.h"

namespace pprsim {

namespace {

class SimEngine final : public Engine {
 public:
  SimEngine(std::uint64_t memory_limit, std::uint64_t slice_bytes) : main_(std::make_unique<Process>(memory_limit)) {
    main_->sys.set_slice_bytes(slice_bytes);
  }

  Process& main() override { return *main_; }

  StepOutcome execute(Process& p, const Event& e) override { return pprsim::execute(p, e); }

  Runner fork_task(int k, const Instance& instance) override {
    return pprsim::fork_task(*main_, k, instance, spare_process());
  }

  std::unique_ptr<Runner> fork_understudy(const std::vector<Instance>& instances) override {
    return pprsim::fork_understudy(*main_, instances, spare_process());
  }

  CommitResult commit(std::vector<Runner>& tasks, std::size_t m) override { return commit_tasks(*main_, tasks, m); }

  void adopt_understudy(Runner& understudy) override { main_->become(*understudy.proc); }

  // The group's processes go back to the spares (a group takes at most G + 1 of them).
  void retire(std::vector<Runner>& tasks, std::unique_ptr<Runner>& understudy) override {
    for (Runner& t : tasks) {
      if (t.proc) {
        t.proc->recycle();
        spare_.push_back(std::move(t.proc));
      }
    }
    tasks.clear();
    if (understudy && understudy->proc) {
      understudy->proc->recycle();
      spare_.push_back(std::move(understudy->proc));
    }
    understudy.reset();
  }

 private:
  // A recycled process to fork into, or null (fork makes one).
  std::unique_ptr<Process> spare_process() {
    if (spare_.empty()) return nullptr;
    std::unique_ptr<Process> p = std::move(spare_.back());
    spare_.pop_back();
    return p;
  }

  std::unique_ptr<Process> main_;
  std::vector<std::unique_ptr<Process>> spare_;  // recycled task and understudy processes
};

}  // namespace

std::unique_ptr<Engine> make_sim_engine(std::uint64_t memory_limit, std::uint64_t slice_bytes) {
  return std::make_unique<SimEngine>(memory_limit, slice_bytes);
}

}  // namespace pprsim
