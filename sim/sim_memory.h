// SimMemory: the simulated backend of alloc/memory.h. Every access goes to one virtual
// process's address space and, while that process's access log is on, is recorded.
#pragma once

#include <cstdint>

#include "alloc/memory.h"
#include "sim/coverage.h"

namespace pprsim {

struct Process;

class SimMemory {
 public:
  explicit SimMemory(Process& p) : p_(&p) {}

  std::uint64_t load64(Addr a);
  void store64(Addr a, std::uint64_t v);
  void read(Addr a, void* out, std::uint64_t n);
  // As read, but not the process's access: pprsim looking (nothing is logged).
  void peek(Addr a, void* out, std::uint64_t n);
  void write(Addr a, const void* in, std::uint64_t n);
  void zero(Addr a, std::uint64_t n);
  void copy(Addr dst, Addr src, std::uint64_t n);
  Addr sys_alloc(std::uint64_t n);
  // sys_alloc from the process's slice (a task forked by sim/group.h has one); else 0.
  Addr task_sys_alloc(std::uint64_t n);
  void sys_free(Addr a, std::uint64_t n);
  // A new region, the bytes copied (and logged as the copy they are), the old one released.
  Addr sys_grow(Addr a, std::uint64_t n, std::uint64_t v);
  // As natively: the pages read as zero afterwards (a write, for the access log).
  void sys_idle(Addr a, std::uint64_t n) { zero(a, n); }

  // The program filling [a, a + n) of object `id` (which starts at `base`) with its pattern
  // at `stamp` (sim/pattern.h): recorded as one write; whole pages cost no bytes.
  void fill_pattern(Addr a, std::uint64_t n, std::int64_t id, std::uint32_t stamp, Addr base);

  // A probe point of alloc/probes.h reached by the allocator working on this memory: recorded
  // in the run's coverage, if any, after this process's previous probe.
  void probe(unsigned id) {
    if (coverage_ == nullptr) return;
    coverage_->hit(last_probe_, id);
    last_probe_ = id;
  }
  // Where this process's probes go (nullptr: nowhere); a fork records into its parent's.
  void set_coverage(Coverage* c) {
    coverage_ = c;
    last_probe_ = kNoProbe;
  }
  Coverage* coverage() const { return coverage_; }

 private:
  Process* p_;
  Coverage* coverage_ = nullptr;
  unsigned last_probe_ = kNoProbe;
};

static_assert(Memory<SimMemory>);

}  // namespace pprsim
