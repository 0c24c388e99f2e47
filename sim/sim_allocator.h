// The simulator's view of an allocator: the C API, the PPR hooks and the census, behind one
// virtual interface so that a run can pick its allocator by name. Each implementation wraps
// an allocator template from alloc/ instantiated on SimMemory, satisfying PprAllocator
// (alloc/ppr_allocator.h); make_allocator in sim/sim_allocator.cpp is the one registry.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "alloc/census.h"
#include "sim/sim_memory.h"

namespace pprsim {

class SimAllocator {
 public:
  virtual ~SimAllocator() = default;

  // A copy of this allocator's state working on `mem` (the forked process's memory).
  virtual std::unique_ptr<SimAllocator> clone(SimMemory& mem) const = 0;
  virtual std::string_view name() const = 0;

  virtual Addr malloc(std::uint64_t n) = 0;
  virtual Addr calloc(std::uint64_t count, std::uint64_t size) = 0;
  virtual Addr memalign(std::uint64_t align, std::uint64_t n) = 0;
  virtual Addr realloc(Addr p, std::uint64_t n) = 0;
  virtual void free(Addr p) = 0;
  virtual std::uint64_t usable_size(Addr p) = 0;

  // PPR hooks; their contracts are alloc/ppr_allocator.h's.
  virtual bool group_init(int g) = 0;
  virtual void task_init(int k) = 0;
  virtual void understudy_init() = 0;
  // requires: every element of `tasks` has this allocator's type.
  virtual void merge(std::span<const SimAllocator* const> tasks, std::size_t committed) = 0;
  virtual void learn(std::span<const SimAllocator* const> tasks) = 0;

  virtual bool gave_up() const = 0;
  virtual std::uint64_t reserved_bytes() const = 0;
  virtual std::uint64_t task_allocated_bytes() const = 0;

  using BlockVisit = std::function<void(const BlockInfo&)>;
  using FreeVisit = std::function<void(const FreeEntry&)>;
  virtual bool walk_region(Addr base, std::uint64_t size, const BlockVisit& visit) = 0;
  virtual void walk_free(std::uint64_t max_steps, const FreeVisit& visit) = 0;
  virtual std::string describe(Addr base, std::uint64_t size, Addr a) = 0;
  // What holds address `a`, which lies in none of the process's system regions: memory the
  // allocator has of its own (a native allocator's globals); "" when it has none there.
  virtual std::string describe_outside(Addr) { return ""; }
  // The allocator's own invariants: "" or the first broken one (alloc/ppr_allocator.h).
  virtual std::string verify() = 0;

  // Which optional checks this allocator supports (a C plugin may leave them out): the census
  // walks (walk_region, walk_free) and verify().
  virtual bool has_census() const { return true; }
  virtual bool has_verify() const { return true; }
};

// The allocator failed in a way the run cannot go on from (a plugin's clone returned nothing).
class AllocatorFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The allocators a run can use, by the names the command line accepts.
const std::vector<std::string>& allocator_names();

// Besides those, "mutant:NAME" is dmmalloc with the seeded bug NAME of alloc/mutants.h
// (for `pprsim selftest` and the replay of what it finds).
inline constexpr std::string_view kMutantPrefix = "mutant:";

// "example" is the example allocator of alloc/README.md (alloc/example/slot_allocator.h).
inline constexpr std::string_view kExampleName = "example";
// And "plugin:PATH" is the C plugin at PATH (alloc/pprsim_plugin.h, sim/plugin_allocator.h);
// "native:SPEC" an unmodified allocator run natively (sim/native_engine.h), which the run's
// engine makes, not make_allocator.

// True for the names make_allocator takes (allocator_names(), the mutants, loadable plugins).
bool is_allocator_name(std::string_view name);

// Every name make_allocator takes, for --help and errors: "dmmalloc, comalloc, shared, example,
// mutant:NAME (NAME: carve-overlap, ...), plugin:PATH.so".
std::string allocator_help();

// Why make_allocator would refuse `name`, as one line; "" when it takes it. Loads a plugin.
std::string allocator_name_error(std::string_view name);

// Throws std::invalid_argument for an unknown name, PluginError for an unusable plugin.
std::unique_ptr<SimAllocator> make_allocator(std::string_view name, SimMemory& mem);

}  // namespace pprsim
