/* The port of an allocator verified natively: `pprsim replay --alloc native:SPEC`.
 *
 * pprsim runs the allocator, compiled with its instrumentation, as native code in worker
 * processes: one for MAIN, one forked per task and for the understudy, exactly as a fork-based
 * speculative runtime would. Everything the allocator reads and writes in its heap and in its
 * globals is recorded byte-exact and judged by the same commit check, oracle and reports as the
 * simulator's allocators (docs/DESIGN.md section 3.11).
 *
 * The allocator's author writes a port: a small C file that includes this header and defines
 * the one symbol
 *
 *     const struct pprsim_port *pprsim_port(void);
 *
 * naming the allocator's entry points and, if it is PPR-aware, its group hooks. A PPR-unaware
 * allocator (plain malloc/free) leaves the hooks NULL: pprsim then shows what speculation does
 * to it (the conflicts its metadata causes).
 *
 * System memory comes from pprsim, at fixed addresses, so that every run of a seed sees the same
 * addresses: the allocator calls pprsim_native_sys_alloc (or mmap/sbrk renamed to pprsim's versions by
 * the build) instead of the system's. Inside a task, pprsim_native_sys_alloc gives memory from the
 * task's own slice of address space, which a commit adopts whole.
 *
 * Globals are the allocator's own memory: they are recorded like the heap, so a PPR-unaware
 * allocator's free-list head in a global shows as the conflict it is, named by symbol and
 * offset.
 */
#ifndef PPRSIM_PORT_H
#define PPRSIM_PORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version 2 added, at the end of struct pprsim_port, the census walks and verify; a port of
 * version 1 is read as before. */
#define PPRSIM_PORT_VERSION 2u

/* One block of a system region, for the census (as a plugin's, alloc/pprsim_plugin.h). */
enum pprsim_port_block_kind { PPRSIM_PORT_LIVE = 0, PPRSIM_PORT_FREE = 1, PPRSIM_PORT_CORRUPT = 2 };
struct pprsim_port_block {
  uintptr_t start;
  uint64_t size;       /* whole block, header included */
  uint32_t kind;       /* enum pprsim_port_block_kind */
  int32_t size_class;  /* -1: none */
  uintptr_t payload;   /* LIVE: the address malloc returned */
  uint64_t usable;     /* LIVE: usable_size(payload) */
};
typedef void (*pprsim_port_block_visit)(void *cookie, const struct pprsim_port_block *block);
typedef void (*pprsim_port_free_visit)(void *cookie, uintptr_t block, int32_t size_class);

struct pprsim_port {
  uint32_t version; /* PPRSIM_PORT_VERSION */
  const char *name; /* for reports */

  /* Called once in MAIN before anything else (optional). */
  void (*init)(void);

  /* The C API. calloc and memalign are optional: without them pprsim runs malloc and zeroes the
   * block (calloc), or refuses the request (memalign). usable_size is required. */
  void *(*malloc)(size_t n);
  void (*free)(void *p);
  void *(*realloc)(void *p, size_t n);
  void *(*calloc)(size_t count, size_t size);
  void *(*memalign)(size_t align, size_t n);
  size_t (*usable_size)(void *p);

  /* The group hooks (all optional; a PPR-unaware allocator has none). group_init: in MAIN before
   * the tasks fork, nonzero on success (0: the group runs smaller or serially, nothing changed).
   * task_init(k): in task k's process after the fork. understudy_init: in the understudy's
   * process, or in MAIN to re-run a group sequentially. merge: in MAIN after the writes of
   * tasks 0..committed-1 were copied in, in order (ntasks tasks ran). */
  int (*group_init)(int ntasks);
  void (*task_init)(int k);
  void (*understudy_init)(void);
  void (*merge)(int ntasks, int committed);
  /* Nonzero when the task gave up speculation (a rescue) in its last call (optional). */
  int (*gave_up)(void);

  /* Optional, task_state with either or both of the others: for an allocator whose bookkeeping
   * lives outside its heap, in memory pprsim does not record (its C++ objects, tables from
   * operator new), which each process keeps to itself as a forked process keeps its copy.
   * task_state, in task k when its group ends: writes the task's state into buf (at most cap
   * bytes) and returns the bytes it needs (more than cap: nothing is written and pprsim asks
   * again with room). merge_states, in MAIN instead of merge: every task's state, states[k] NULL
   * for a task that has none. learn_states, in MAIN after every group that forked tasks (merged,
   * taken over by the understudy, or re-run): the same, to size the next group. */
  size_t (*task_state)(void *buf, size_t cap);
  void (*merge_states)(const void *const *states, const size_t *sizes, int ntasks, int committed);
  void (*learn_states)(const void *const *states, const size_t *sizes, int ntasks);

  /* Version 2, optional, both or neither: the census, called outside any recording in the process
   * pprsim checks (MAIN after a group, as the simulator's oracle does). walk_region visits the
   * blocks of one system region [base, base + size) in address order, tiling it, and returns 0
   * after a CORRUPT piece; walk_free visits every block its free lists reach, at most max_steps
   * links per list. With them pprsim finds lost blocks and blocks on a free list that are handed
   * out; without them it checks conflicts, contents and overlap, and the report says so. */
  int (*walk_region)(uintptr_t base, uint64_t size, pprsim_port_block_visit visit, void *cookie);
  void (*walk_free)(uint64_t max_steps, pprsim_port_free_visit visit, void *cookie);
  /* Version 2, optional: the allocator's own invariants, 0 when they hold, else nonzero with the
   * first broken one in out (NUL-terminated). Called after every call with --paranoid. */
  int (*verify)(char *out, size_t out_len);
};

const struct pprsim_port *pprsim_port(void);

/* Where this process stands, kept by pprsim outside the allocator's memory (so reading it is no
 * access to shared state, as a speculative runtime's own status variables are not): the task
 * number k in task k (from task_init on), -1 in MAIN and the understudy; the number of tasks of
 * the group from group_init on, 0 before the first group. */
int pprsim_native_task(void);
int pprsim_native_group_size(void);
/* The NAME of the spec's variant=NAME item ("" without one), from init on: one build of a port
 * that serves several configurations chosen per run. */
const char *pprsim_native_variant(void);

/* System memory from pprsim: page-aligned, zero-filled regions of a multiple of 4096 bytes; NULL
 * when refused. Inside a task: from the task's own slice. */
void *pprsim_native_sys_alloc(size_t n);
void pprsim_native_sys_free(void *p, size_t n);
/* The same from the process's own system memory even inside a task, as the system's mmap gives
 * it under fork: the addresses a task gets here its sibling tasks get too, and a commit that
 * adopts such a region is a finding (system memory outside a task's slice). For ports that tell
 * an allocator's shared growth from its growth in a task, as the project's cores do. */
void *pprsim_native_sys_alloc_shared(size_t n);

#ifdef __cplusplus
}
#endif

#endif /* PPRSIM_PORT_H */
