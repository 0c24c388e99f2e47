/* pprsim plugin ABI, version 2: a PPR allocator from outside, in C, loaded with
 *   pprsim replay|fuzz|selftest --alloc plugin:PATH.so
 *
 * pprsim hands the allocator its memory (struct pprsim_memory: word and byte access, system
 * memory); the allocator hands back its functions (struct pprsim_allocator) from the one
 * exported symbol
 *
 *   const struct pprsim_allocator *pprsim_plugin(void);
 *
 * The contract of every function is the one of alloc/ppr_allocator.h; alloc/README.md explains
 * it; alloc/plugins/classes.c is a complete example (built correct, and with one seeded bug).
 *
 * Memory. Every byte the allocator keeps *in band* (headers, free-list links, anything a real
 * allocator would keep in its heap) must live in memory obtained from mem->sys_alloc and be
 * touched only through `mem`: that is what pprsim tracks, forks copy-on-write and checks for
 * conflicts. Addresses are simulated 64-bit numbers, not pointers: never dereference them.
 * An access outside the memory the allocator obtained reads 0 and is ignored, and the run
 * fails with a report once the function returns.
 *
 * Out-of-band state (the allocator's C struct: list heads, counters, its partition bookkeeping;
 * in the original runtime, static variables) is a `void *state` the plugin allocates with plain
 * malloc. At every fork pprsim calls clone(state) and gives the copy to the new process; it
 * calls destroy() on every copy it drops. We chose clone/destroy over "all state in simulated
 * memory" because merge() must read the state of every task of the group side by side, and the
 * tasks' memories are separate processes whose writes to one shared state area would themselves
 * be conflicts; a cloned struct is exactly a forked process's copy of its static data,
 * private, untracked, and combined only by merge().
 *
 * Versioning: `abi_version` is PPRSIM_PLUGIN_ABI_VERSION of the header the plugin was built
 * with. pprsim reads versions 1 and 2 and refuses any other with one line and exit status 2. A
 * later version adds fields at the end only. Version 2 added, at the end of struct
 * pprsim_memory, the system-memory calls of alloc/memory.h that version 1 lacked: task_sys_alloc
 * (growth inside a task's own slice of address space), sys_grow and sys_idle. A version 1 plugin
 * loads and runs as before; it just does not use them.
 */
#ifndef PPRSIM_PLUGIN_H
#define PPRSIM_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PPRSIM_PLUGIN_ABI_VERSION 2u
#define PPRSIM_PLUGIN_ABI_OLDEST 1u /* the oldest version pprsim still loads */
#define PPRSIM_PAGE_SIZE 4096u

typedef uint64_t pprsim_addr; /* a simulated address; 0 is no address */

/* What pprsim gives the allocator. `ctx` is pprsim's: pass it back unchanged. */
struct pprsim_memory {
  void *ctx;
  /* Word access; `a` is 8-byte aligned. */
  uint64_t (*load64)(void *ctx, pprsim_addr a);
  void (*store64)(void *ctx, pprsim_addr a, uint64_t v);
  /* Byte ranges. copy(dst, src, n): the ranges do not overlap. */
  void (*read)(void *ctx, pprsim_addr a, void *out, uint64_t n);
  void (*write)(void *ctx, pprsim_addr a, const void *in, uint64_t n);
  void (*zero)(void *ctx, pprsim_addr a, uint64_t n);
  void (*copy)(void *ctx, pprsim_addr dst, pprsim_addr src, uint64_t n);
  /* System memory: page-aligned, zero-filled regions of a multiple of PPRSIM_PAGE_SIZE bytes;
   * 0 when refused (limit reached or failure injected). Inside a task, sys_alloc is touching
   * shared state (every task would get the same next region): use task_sys_alloc there. */
  pprsim_addr (*sys_alloc)(void *ctx, uint64_t n);
  void (*sys_free)(void *ctx, pprsim_addr a, uint64_t n);
  /* Since version 2. */
  /* Inside a task: a region from this task's own slice of address space, disjoint from every
   * other task's and from what the parent holds, so obtaining it touches nothing shared; a
   * commit adopts it as it is (the report counts it as grown in the task's slice). 0 when
   * refused or outside a task: the task must then give up. Released with sys_free. */
  pprsim_addr (*task_sys_alloc)(void *ctx, uint64_t n);
  /* Grows region [a, a + n) to new_n bytes (new_n > n, a multiple of PPRSIM_PAGE_SIZE), keeping
   * its bytes; returns its new start (it may move), or 0 when refused, the old one untouched. */
  pprsim_addr (*sys_grow)(void *ctx, pprsim_addr a, uint64_t n, uint64_t new_n);
  /* The pages [a, a + n) of a region the allocator holds carry nothing it needs: the system may
   * take them back. They stay mapped and read as zero afterwards. a and n page-aligned. */
  void (*sys_idle)(void *ctx, pprsim_addr a, uint64_t n);
};

/* One block of a system region, for the census walk (alloc/census.h). */
enum pprsim_block_kind { PPRSIM_BLOCK_LIVE = 0, PPRSIM_BLOCK_FREE = 1, PPRSIM_BLOCK_CORRUPT = 2 };
struct pprsim_block {
  pprsim_addr start;
  uint64_t size;      /* whole block, header included */
  uint32_t kind;      /* enum pprsim_block_kind */
  int32_t size_class; /* -1: none */
  pprsim_addr payload; /* LIVE: the address malloc returned */
  uint64_t usable;     /* LIVE: usable_size(payload) */
};
typedef void (*pprsim_block_visit)(void *cookie, const struct pprsim_block *block);
typedef void (*pprsim_free_visit)(void *cookie, pprsim_addr block, int32_t size_class);

/* What the allocator gives pprsim. Every function takes the state it works on and the memory
 * of the process it runs in (which changes across forks: do not keep `mem`). Functions marked
 * optional may be NULL; every other one is required. */
struct pprsim_allocator {
  uint32_t abi_version; /* PPRSIM_PLUGIN_ABI_VERSION */
  const char *name;     /* for reports */

  /* State. create: a fresh allocator (in SEQ, nothing allocated yet); NULL on failure. */
  void *(*create)(const struct pprsim_memory *mem);
  void *(*clone)(const void *state); /* a private copy, for a forked process */
  void (*destroy)(void *state);

  /* The malloc family, C semantics (alloc/ppr_allocator.h). 0 is failure; in a task, 0 with
   * gave_up() nonzero is a rescue: the task gives up speculation. Results are 16-aligned. */
  pprsim_addr (*malloc)(void *state, const struct pprsim_memory *mem, uint64_t n);
  pprsim_addr (*calloc)(void *state, const struct pprsim_memory *mem, uint64_t count, uint64_t size);
  pprsim_addr (*memalign)(void *state, const struct pprsim_memory *mem, uint64_t align, uint64_t n);
  pprsim_addr (*realloc)(void *state, const struct pprsim_memory *mem, pprsim_addr p, uint64_t n);
  void (*free)(void *state, const struct pprsim_memory *mem, pprsim_addr p);
  uint64_t (*usable_size)(void *state, const struct pprsim_memory *mem, pprsim_addr p);

  /* The group hooks. group_init: in the parent before the fork, nonzero on success (0: the
   * group runs smaller or serially, nothing changed). task_init(k): in task k's clone.
   * understudy_init: in the understudy's clone (or the parent, to re-run a group in SEQ).
   * merge: on the clone of the last committed task, bound to the committed memory; tasks[k]
   * is task k's state as it finished, k < committed committed, the rest aborted. */
  int (*group_init)(void *state, const struct pprsim_memory *mem, int g);
  void (*task_init)(void *state, const struct pprsim_memory *mem, int k);
  void (*understudy_init)(void *state, const struct pprsim_memory *mem);
  void (*merge)(void *state, const struct pprsim_memory *mem, const void *const *tasks, size_t ntasks,
                size_t committed);
  /* optional: size the next group from the tasks' demand (out-of-band state only). */
  void (*learn)(void *state, const void *const *tasks, size_t ntasks);

  int (*gave_up)(const void *state);                 /* nonzero: this task rescued */
  uint64_t (*reserved_bytes)(const void *state);       /* optional: set aside by the last carve */
  uint64_t (*task_allocated_bytes)(const void *state); /* optional: handed out in this task */

  /* optional, both or neither: the census. walk_region visits the blocks of one system region
   * [base, base + size) in address order, tiling it, and returns 0 after a Corrupt piece.
   * walk_free visits every block its free lists reach, at most max_steps links per list.
   * Without them pprsim still checks conflicts, contents and overlap; the report says so. */
  int (*walk_region)(void *state, const struct pprsim_memory *mem, pprsim_addr base, uint64_t size,
                     pprsim_block_visit visit, void *cookie);
  void (*walk_free)(void *state, const struct pprsim_memory *mem, uint64_t max_steps, pprsim_free_visit visit,
                    void *cookie);
  /* optional: what holds address a of region [base, base + size), written into out (at most
   * out_len bytes, NUL-terminated), for conflict reports. */
  void (*describe)(void *state, const struct pprsim_memory *mem, pprsim_addr base, uint64_t size, pprsim_addr a,
                   char *out, size_t out_len);
  /* optional: the allocator's own invariants. 0 when they hold; else nonzero with the first
   * broken one written into out (NUL-terminated). Called after every call with --paranoid. */
  int (*verify)(void *state, const struct pprsim_memory *mem, char *out, size_t out_len);
};

/* The one symbol a plugin exports. */
const struct pprsim_allocator *pprsim_plugin(void);

#ifdef __cplusplus
}
#endif

#endif /* PPRSIM_PLUGIN_H */
