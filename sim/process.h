// A virtual process: its address space, system memory, optional access log, its own copy of
// the allocator's out-of-band state, and its view of the program's objects. Its `mem`
// (sim/sim_memory.h) is what the allocator works on.
#pragma once

#include <cstdint>
#include <memory>

#include "alloc/memory.h"
#include "sim/access_log.h"
#include "sim/address_space.h"
#include "sim/object_table.h"
#include "sim/sim_memory.h"
#include "sim/system_memory.h"

namespace pprsim {

class SimAllocator;

struct Process {
  explicit Process(std::uint64_t memory_limit);
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();

  // A copy-on-write child: shared pages, copied system memory and allocator state, and an
  // object table of changes over this one. requires: this process outlives the child.
  // `into`: a recycled process to become the child (its storage is reused), else a new one.
  std::unique_ptr<Process> fork(std::unique_ptr<Process> into = nullptr);

  // Lets go of all this process holds and shares (pages, allocator, object changes, the access
  // log's entries) and keeps its storage, for fork(into). A group of eight forks nine
  // processes; making each anew was 6% of a replay of one-event instances, before the
  // allocations of its log and tables.
  void recycle();

  // Takes over another process's memory, allocator and object changes (the winner of a race).
  // requires: other's object table is a child of this one's.
  void become(Process& other);

  void start_tracking() {
    if (spare_log_) {
      log = std::move(spare_log_);
    } else {
      log = std::make_unique<AccessLog>();
    }
  }

  // While alive, the process's accesses are not recorded (the harness looking at memory is
  // not the program touching it). The log object itself stays where it is.
  class Untracked {
   public:
    explicit Untracked(Process& p) : p_(p), saved_(std::move(p.log)) {}
    ~Untracked() { p_.log = std::move(saved_); }
    Untracked(const Untracked&) = delete;
    Untracked& operator=(const Untracked&) = delete;

   private:
    Process& p_;
    std::unique_ptr<AccessLog> saved_;
  };

  AddressSpace space;
  SystemMemory sys;
  std::unique_ptr<AccessLog> log;  // null: not tracked
  SimMemory mem{*this};
  std::unique_ptr<SimAllocator> alloc;
  ObjectTable objects;

 private:
  std::unique_ptr<AccessLog> spare_log_;  // a recycled process's log, reset, for start_tracking
};

}  // namespace pprsim
