// The project's own dmmalloc core (alloc/dmmalloc.h), unchanged, run natively through
// `--alloc native:`: the same template the simulator runs, here over the worker's real memory.
// Its heap (block headers, free-list links) is in-band and recorded; its bookkeeping (the
// DmMalloc object: list heads, partitions, deferred frees) is out-of-band, in memory from operator
// new that each process keeps to itself, exactly as the simulator keeps each process's copy of
// the allocator apart. At a commit the tasks hand that state over as bytes
// (DmMalloc::export_task_state) and MAIN merges and learns from it, as the drop-in library does
// for a fork-based runtime. With variant=NAME in the spec it runs the selftest's mutant NAME
// (alloc/mutants.h) instead, so `pprsim selftest --native` catches the seeded bugs natively.
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>
#include <vector>

#include "alloc/dmmalloc.h"
#include "alloc/mutants.h"
#include "native/examples/port_census.h"
#include "native/examples/port_memory.h"
#include "native/examples/port_states.h"
#include "pprsim_port.h"

namespace {

using pprsim::Addr;
using pprsim::port::addr;
using pprsim::port::PortMemory;
using pprsim::port::ptr;

using Core = pprsim::DmMalloc<PortMemory>;
using Mutant = pprsim::DmMallocMutant<PortMemory>;

PortMemory g_mem;
// The core, or, when the spec's variant names one of the selftest's seeded bugs
// (alloc/mutants.h: variant=eager-global-free, say), the core with that bug.
Core* g_core = nullptr;
Mutant* g_mutant = nullptr;
pprsim::Mutant g_bug{};

void dm_init() {
  const std::string_view variant = pprsim_native_variant();
  if (variant.empty()) {
    g_core = new Core(&g_mem);
    return;
  }
  for (const pprsim::MutantInfo& m : pprsim::kMutants) {
    if (m.name == variant) {
      g_bug = m.mutant;
      g_mutant = new Mutant(&g_mem, m.mutant);
      return;
    }
  }
  std::fprintf(stderr, "dmmalloc port: no mutant named '%s' (alloc/mutants.h lists them)\n", pprsim_native_variant());
  abort();
}

// Calls f on the allocator this process runs, with its own type (a mutant's operations hide the
// core's, they do not override them).
template <class F>
decltype(auto) with_allocator(F&& f) {
  return g_mutant != nullptr ? f(*g_mutant) : f(*g_core);
}

void* dm_malloc(std::size_t n) {
  return with_allocator([&](auto& a) { return ptr(a.malloc(n)); });
}
void dm_free(void* p) {
  with_allocator([&](auto& a) { a.free(addr(p)); });
}
void* dm_realloc(void* p, std::size_t n) {
  return with_allocator([&](auto& a) { return ptr(a.realloc(addr(p), n)); });
}
void* dm_calloc(std::size_t count, std::size_t size) {
  return with_allocator([&](auto& a) { return ptr(a.calloc(count, size)); });
}
void* dm_memalign(std::size_t align, std::size_t n) {
  return with_allocator([&](auto& a) { return ptr(a.memalign(align, n)); });
}
std::size_t dm_usable_size(void* p) {
  return with_allocator([&](auto& a) { return static_cast<std::size_t>(a.usable_size(addr(p))); });
}

int dm_group_init(int g) {
  return with_allocator([&](auto& a) { return a.group_init(g) ? 1 : 0; });
}
void dm_task_init(int k) {
  with_allocator([&](auto& a) { a.task_init(k); });
}
void dm_understudy_init() {
  with_allocator([&](auto& a) { a.understudy_init(); });
}
int dm_gave_up() {
  return with_allocator([&](auto& a) { return a.gave_up() ? 1 : 0; });
}

std::size_t dm_task_state(void* buf, std::size_t cap) {
  return with_allocator([&](auto& a) { return a.export_task_state(buf, cap); });
}

Core fresh(const Core*) { return Core(&g_mem); }
Mutant fresh(const Mutant*) { return Mutant(&g_mem, g_bug); }

// Task k's copy rebuilt from its state: checked against this group's serial and k.
template <class A>
auto tasks_from(const A& main, const void* const* states, const std::size_t* sizes, int ntasks) {
  return pprsim::port::task_copies(
      states, sizes, ntasks, [&] { return fresh(&main); },
      [&](A& copy, const void* state, std::size_t n, std::size_t k) {
        copy.import_task_state(state, n, main.group_serial(), k);
      });
}

void dm_merge_states(const void* const* states, const std::size_t* sizes, int ntasks, int committed) {
  with_allocator([&](auto& a) {
    const auto copies = tasks_from(a, states, sizes, ntasks);
    a.merge(pprsim::port::pointers(copies), static_cast<std::size_t>(committed));
  });
}

void dm_learn_states(const void* const* states, const std::size_t* sizes, int ntasks) {
  with_allocator([&](auto& a) {
    const auto copies = tasks_from(a, states, sizes, ntasks);
    a.learn(pprsim::port::pointers(copies));
  });
}

int dm_walk_region(std::uintptr_t base, std::uint64_t size, pprsim_port_block_visit visit, void* cookie) {
  return with_allocator([&](auto& a) { return pprsim::port::walk_region_of(a, base, size, visit, cookie); });
}
void dm_walk_free(std::uint64_t max_steps, pprsim_port_free_visit visit, void* cookie) {
  with_allocator([&](auto& a) { pprsim::port::walk_free_of(a, max_steps, visit, cookie); });
}
int dm_verify(char* out, std::size_t out_len) {
  return with_allocator([&](auto& a) { return pprsim::port::verify_of(a, out, out_len); });
}

const struct pprsim_port kPort = {
    .version = PPRSIM_PORT_VERSION,
    .name = "dmmalloc",
    .init = dm_init,
    .malloc = dm_malloc,
    .free = dm_free,
    .realloc = dm_realloc,
    .calloc = dm_calloc,
    .memalign = dm_memalign,
    .usable_size = dm_usable_size,
    .group_init = dm_group_init,
    .task_init = dm_task_init,
    .understudy_init = dm_understudy_init,
    .merge = nullptr,
    .gave_up = dm_gave_up,
    .task_state = dm_task_state,
    .merge_states = dm_merge_states,
    .learn_states = dm_learn_states,
    .walk_region = dm_walk_region,
    .walk_free = dm_walk_free,
    .verify = dm_verify,
};

}  // namespace

extern "C" const struct pprsim_port* pprsim_port() { return &kPort; }
