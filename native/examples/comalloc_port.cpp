// The project's comalloc (alloc/comalloc.h: private heaps carved from a dlmalloc-style base heap),
// unchanged, run natively through `--alloc native:`, as dmmalloc_port.cpp runs dmmalloc. Its
// heaps' chunks are in-band and recorded; its bookkeeping (the CoMalloc object: the heaps' bins
// and segments, the carve, deferred frees) is out-of-band, each process's own. At a commit the
// tasks hand theirs over as bytes (CoMalloc::export_task_state) and MAIN merges and learns from
// copies rebuilt from them.
#include <cstddef>
#include <cstdint>
#include <new>
#include <span>
#include <vector>

#include "alloc/comalloc.h"
#include "native/examples/port_census.h"
#include "native/examples/port_memory.h"
#include "native/examples/port_states.h"
#include "pprsim_port.h"

namespace {

using pprsim::Addr;
using pprsim::port::addr;
using pprsim::port::PortMemory;
using pprsim::port::ptr;

using Core = pprsim::CoMalloc<PortMemory>;

PortMemory g_mem;
Core* g_core = nullptr;

void co_init() { g_core = new Core(&g_mem); }

void* co_malloc(std::size_t n) { return ptr(g_core->malloc(n)); }
void co_free(void* p) { g_core->free(addr(p)); }
void* co_realloc(void* p, std::size_t n) { return ptr(g_core->realloc(addr(p), n)); }
void* co_calloc(std::size_t count, std::size_t size) { return ptr(g_core->calloc(count, size)); }
void* co_memalign(std::size_t align, std::size_t n) { return ptr(g_core->memalign(align, n)); }
std::size_t co_usable_size(void* p) { return g_core->usable_size(addr(p)); }

int co_group_init(int g) { return g_core->group_init(g) ? 1 : 0; }
void co_task_init(int k) { g_core->task_init(k); }
void co_understudy_init() { g_core->understudy_init(); }
int co_gave_up() { return g_core->gave_up() ? 1 : 0; }

std::size_t co_task_state(void* buf, std::size_t cap) { return g_core->export_task_state(buf, cap); }

// Task k's copy rebuilt from its state.
std::vector<Core> tasks_from(const void* const* states, const std::size_t* sizes, int ntasks) {
  return pprsim::port::task_copies(
      states, sizes, ntasks, [] { return Core(&g_mem); },
      [](Core& copy, const void* state, std::size_t n, std::size_t k) { copy.import_task_state(state, n, k); });
}

void co_merge_states(const void* const* states, const std::size_t* sizes, int ntasks, int committed) {
  const std::vector<Core> copies = tasks_from(states, sizes, ntasks);
  g_core->merge(pprsim::port::pointers(copies), static_cast<std::size_t>(committed));
}

void co_learn_states(const void* const* states, const std::size_t* sizes, int ntasks) {
  const std::vector<Core> copies = tasks_from(states, sizes, ntasks);
  g_core->learn(pprsim::port::pointers(copies));
}

int co_walk_region(std::uintptr_t base, std::uint64_t size, pprsim_port_block_visit visit, void* cookie) {
  return pprsim::port::walk_region_of(*g_core, base, size, visit, cookie);
}
void co_walk_free(std::uint64_t max_steps, pprsim_port_free_visit visit, void* cookie) {
  pprsim::port::walk_free_of(*g_core, max_steps, visit, cookie);
}
int co_verify(char* out, std::size_t out_len) { return pprsim::port::verify_of(*g_core, out, out_len); }

const struct pprsim_port kPort = {
    .version = PPRSIM_PORT_VERSION,
    .name = "comalloc",
    .init = co_init,
    .malloc = co_malloc,
    .free = co_free,
    .realloc = co_realloc,
    .calloc = co_calloc,
    .memalign = co_memalign,
    .usable_size = co_usable_size,
    .group_init = co_group_init,
    .task_init = co_task_init,
    .understudy_init = co_understudy_init,
    .merge = nullptr,
    .gave_up = co_gave_up,
    .task_state = co_task_state,
    .merge_states = co_merge_states,
    .learn_states = co_learn_states,
    .walk_region = co_walk_region,
    .walk_free = co_walk_free,
    .verify = co_verify,
};

}  // namespace

extern "C" const struct pprsim_port* pprsim_port() { return &kPort; }
