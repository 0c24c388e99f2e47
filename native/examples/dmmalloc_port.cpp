// The project's own dmmalloc core (alloc/dmmalloc.h), unchanged, run natively through
// `--alloc native:`: the same template the simulator runs, here over the worker's real memory.
// Its heap (block headers, free-list links) is in-band and recorded; its bookkeeping (the
// DmMalloc object: list heads, partitions, deferred frees) is out-of-band, in memory from operator
// new that each process keeps to itself, exactly as the simulator keeps each process's copy of
// the allocator apart. At a commit the tasks hand that state over as bytes
// (DmMalloc::export_task_state) and MAIN merges and learns from it, as the drop-in library does
// for a fork-based runtime.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

#include "alloc/dmmalloc.h"
#include "native/examples/port_memory.h"
#include "pprsim_port.h"

namespace {

using pprsim::Addr;
using pprsim::port::addr;
using pprsim::port::PortMemory;
using pprsim::port::ptr;

using Core = pprsim::DmMalloc<PortMemory>;

PortMemory g_mem;
Core* g_core = nullptr;

void dm_init() { g_core = new Core(&g_mem); }

void* dm_malloc(std::size_t n) { return ptr(g_core->malloc(n)); }
void dm_free(void* p) { g_core->free(addr(p)); }
void* dm_realloc(void* p, std::size_t n) { return ptr(g_core->realloc(addr(p), n)); }
void* dm_calloc(std::size_t count, std::size_t size) { return ptr(g_core->calloc(count, size)); }
void* dm_memalign(std::size_t align, std::size_t n) { return ptr(g_core->memalign(align, n)); }
std::size_t dm_usable_size(void* p) { return g_core->usable_size(addr(p)); }

int dm_group_init(int g) { return g_core->group_init(g) ? 1 : 0; }
void dm_task_init(int k) { g_core->task_init(k); }
void dm_understudy_init() { g_core->understudy_init(); }
int dm_gave_up() { return g_core->gave_up() ? 1 : 0; }

std::size_t dm_task_state(void* buf, std::size_t cap) { return g_core->export_task_state(buf, cap); }

// Copies of the tasks' allocators rebuilt from their states; a task without one (it crashed)
// gets a fresh copy, which merge reads only for an aborted task (whose partition is as carved).
std::vector<Core> tasks_from(const void* const* states, const std::size_t* sizes, int ntasks) {
  std::vector<Core> copies;
  copies.reserve(static_cast<std::size_t>(ntasks));
  for (int k = 0; k < ntasks; ++k) {
    copies.emplace_back(&g_mem);
    if (states[k] != nullptr) {
      copies.back().import_task_state(states[k], sizes[k], g_core->group_serial(), static_cast<std::size_t>(k));
    }
  }
  return copies;
}

std::vector<const Core*> pointers(const std::vector<Core>& copies) {
  std::vector<const Core*> out;
  for (const Core& c : copies) out.push_back(&c);
  return out;
}

void dm_merge_states(const void* const* states, const std::size_t* sizes, int ntasks, int committed) {
  const std::vector<Core> copies = tasks_from(states, sizes, ntasks);
  g_core->merge(pointers(copies), static_cast<std::size_t>(committed));
}

void dm_learn_states(const void* const* states, const std::size_t* sizes, int ntasks) {
  const std::vector<Core> copies = tasks_from(states, sizes, ntasks);
  g_core->learn(pointers(copies));
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
};

}  // namespace

extern "C" const struct pprsim_port* pprsim_port() { return &kPort; }
