#include "sim/sim_engine.h"

#include <utility>

#include "sim/executor.h"
#include "sim/group.h"

namespace pprsim {

SimEngine::SimEngine(std::uint64_t memory_limit, std::uint64_t slice_bytes)
    : main_(std::make_unique<Process>(memory_limit)) {
  main_->sys.set_slice_bytes(slice_bytes);
}

StepOutcome SimEngine::execute(Process& p, const Event& e) { return pprsim::execute(p, e); }

Runner SimEngine::fork_task(int k, const Instance& instance) {
  return pprsim::fork_task(*main_, k, instance, spare_process());
}

std::unique_ptr<Runner> SimEngine::fork_understudy(const std::vector<Instance>& instances) {
  return pprsim::fork_understudy(*main_, instances, spare_process());
}

CommitResult SimEngine::commit(std::vector<Runner>& tasks, std::size_t m) { return commit_tasks(*main_, tasks, m); }

void SimEngine::adopt_understudy(Runner& understudy) { main_->become(*understudy.proc); }

void SimEngine::retire(std::vector<Runner>& tasks, std::unique_ptr<Runner>& understudy) {
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

std::unique_ptr<Process> SimEngine::spare_process() {
  if (spare_.empty()) return nullptr;
  std::unique_ptr<Process> p = std::move(spare_.back());
  spare_.pop_back();
  return p;
}

std::unique_ptr<Engine> make_sim_engine(std::uint64_t memory_limit, std::uint64_t slice_bytes) {
  return std::make_unique<SimEngine>(memory_limit, slice_bytes);
}

}  // namespace pprsim
