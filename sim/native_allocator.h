// One process's native allocator, as the simulator sees it: a SimAllocator whose calls run in
// that process's worker (sim/native_worker.h) and whose access logs are replayed into the
// process's memory (its SimMemory), reads as reads and writes with their bytes, so the Process
// record mirrors the worker. A fork of the process forks the worker (clone). Used by the native
// engine (sim/native_engine.h), which makes the first one and commits through it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/native_worker.h"
#include "sim/sim_allocator.h"

namespace pprsim {

// What every process of one native run shares: the port's name and where the worker's loader
// put the allocator's globals (the same in every forked worker).
struct NativeLayout {
  std::string name;
  std::uint64_t globals_lo = 0;  // the worker's writable segments [lo, hi)
  std::uint64_t globals_hi = 0;
  bool keeps_state = false;  // the port has task_state: merge and learn carry the tasks' states
  bool learns = false;       // the port has learn_states
  bool census = false;       // the port has walk_region and walk_free (version 2)
  bool verifies = false;     // the port has verify (version 2)

  // The worker's address for one of the simulator's, and back: the globals sit at
  // wire::kGlobalsBase in the simulator's picture; every other address is the same in both.
  std::uint64_t to_real(Addr a) const;
  Addr to_sim(std::uint64_t a) const;
  // Whether the worker holds this address of the simulator's (the heap or the globals).
  bool in_worker(Addr a) const;
};

class NativeAllocator final : public SimAllocator {
 public:
  NativeAllocator(std::unique_ptr<NativeWorker> worker, SimMemory& mem, std::shared_ptr<const NativeLayout> layout,
                  int task);

  std::unique_ptr<SimAllocator> clone(SimMemory& mem) const override;
  std::string_view name() const override { return layout_->name; }

  Addr malloc(std::uint64_t n) override;
  Addr calloc(std::uint64_t count, std::uint64_t size) override;
  Addr memalign(std::uint64_t align, std::uint64_t n) override;
  Addr realloc(Addr p, std::uint64_t n) override;
  void free(Addr p) override;
  std::uint64_t usable_size(Addr p) override;

  bool group_init(int g) override;
  void task_init(int k) override;
  void understudy_init() override;
  // The port's merge hook, in MAIN: the committed tasks' writes are already there (the native
  // engine sent them).
  void merge(std::span<const SimAllocator* const> tasks, std::size_t committed) override;
  // The port's learn_states, with every task's state (nothing when the port has none).
  void learn(std::span<const SimAllocator* const> tasks) override;

  bool gave_up() const override { return gave_up_; }
  std::uint64_t reserved_bytes() const override { return 0; }
  std::uint64_t task_allocated_bytes() const override { return 0; }

  // The census and verify, the port's own (version 2), run in the worker outside any recording.
  bool walk_region(Addr base, std::uint64_t size, const BlockVisit& visit) override;
  void walk_free(std::uint64_t max_steps, const FreeVisit& visit) override;
  std::string describe(Addr base, std::uint64_t size, Addr a) override;
  // The globals: by symbol and offset where the worker's loader knows the symbol.
  std::string describe_outside(Addr a) override;
  std::string verify() override;
  bool has_census() const override { return layout_->census; }
  bool has_verify() const override { return layout_->verifies; }

  // For the engine: bytes written into the worker's memory (not recorded: the simulator's
  // memory has them already), a region mapped or unmapped there.
  // `spans` (the simulator's addresses) and their bytes one after another in `data`.
  struct Pokes {
    std::vector<wire::Span> spans;
    std::vector<std::uint8_t> data;
    void add(Addr a, const std::uint8_t* bytes, std::uint64_t n) {
      spans.push_back({a, n});
      data.insert(data.end(), bytes, bytes + n);
    }
  };
  void poke(const Pokes& pokes);
  void map(Addr a, std::uint64_t n);
  // This process (the understudy's) has become MAIN: its worker's heap becomes the one later
  // forks share (native/engine/worker_arena.h).
  void adopt();
  void unmap(Addr a, std::uint64_t n);
  // Replays a call's access log into this process's memory.
  void replay(const NativeWorker::Reply& r);
  // This task's state outside its heap (pprsim_port.h task_state); empty when it keeps none.
  std::vector<std::uint8_t> task_state() const;

 private:
  // One call of the allocator in this process's worker, its log replayed into this process.
  NativeWorker::Reply call(const char* name, wire::Op op, std::uint64_t a = 0, std::uint64_t b = 0);
  NativeWorker::Reply call(const char* name, wire::Request r, const std::vector<std::uint8_t>& payload);
  // A request to the worker that is pprsim's, not the allocator's: nothing recorded or replayed.
  NativeWorker::Reply control(const char* name, wire::Op op, std::uint64_t a = 0, std::uint64_t b = 0,
                              const std::vector<std::uint8_t>& payload = {}, std::uint32_t flags = 0) const;
  Addr result(const NativeWorker::Reply& r) { return r.msg.result == 0 ? 0 : layout_->to_sim(r.msg.result); }
  std::uint64_t answer_sys(const wire::Message& m);

  std::unique_ptr<NativeWorker> worker_;
  SimMemory* mem_;
  std::shared_ptr<const NativeLayout> layout_;
  int task_;  // this process's task number; -1: MAIN or the understudy
  std::vector<std::pair<Addr, std::uint64_t>> releases_;  // regions the call in progress released
  bool gave_up_ = false;
};

}  // namespace pprsim
