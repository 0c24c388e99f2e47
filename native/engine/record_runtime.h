/* The native recording runtime: records, byte-exact, what an allocator compiled with
 * -fsanitize=thread reads and writes, without the thread sanitizer's own runtime.
 *
 * The compiler's instrumentation calls __tsan_read8, __tsan_write4 and their kin before every
 * load and store of the instrumented code; this runtime defines those entry points itself. Only
 * accesses inside the address ranges registered with pprsim_rec_track (the arena, the
 * allocator's globals) are recorded; the stack and everything else is ignored at the cost of one
 * subtraction and one comparison per tracked range, and outside a task a hook returns after one
 * comparison.
 *
 * One task at a time, run in place:
 *
 *     pprsim_rec_begin();             the task starts: reads and writes are recorded per byte,
 *     ... allocator calls ...         and old bytes are copied before their first write
 *     log = pprsim_rec_end();         what it read before writing, what it wrote and the bytes
 *     pprsim_rec_rollback();          every tracked byte back to its value at begin
 *     ...
 *     pprsim_rec_apply(log);          later, if the task commits: its writes again
 *     pprsim_rec_log_free(log);
 *
 * A log never holds an address of the runtime's own heap, and its runs are sorted by address
 * and coalesced, so the same accesses always give the same log.
 *
 * Building the allocator: compile it with -fsanitize=thread but link it without (link this
 * runtime instead). With clang also pass -mllvm -tsan-compound-read-before-write: by default
 * clang drops the read of a load that a store to the same address follows in the same basic
 * block (x += 1 is reported as a write only), and a read-before-write would be missed. GCC
 * reports both. Compilers do not instrument calls to memcpy, memmove and memset (nor the ones
 * they emit for struct copies and loops): rename them in the object to the shims below, e.g.
 * objcopy --redefine-sym memcpy=pprsim_shim_memcpy. Writes into tracked memory by
 * uninstrumented code are not in the log.
 *
 * Single-threaded: the runtime keeps one global state, and hooks, begin, end, rollback and apply
 * must all be called from one thread (the worker runs one allocator call at a time). Atomic
 * operations (__tsan_atomic*) are not defined here: an object that uses them does not link.
 * Other library calls that read or write memory (strlen, strcpy, read(2) into the arena) are not
 * recorded unless renamed to a recording function too. The runtime keeps its own buffers with
 * the process's malloc: the allocator under test must not be that malloc (a port renames its
 * entry points), or a hook would re-enter the runtime.
 *
 * The order of hooks is the order of the instrumented accesses, with one exception: for a struct
 * copy GCC reports the destination's write before the source's read. A copy of a struct onto
 * itself is therefore logged as a write only.
 */
#ifndef PPRSIM_NATIVE_ENGINE_RECORD_RUNTIME_H
#define PPRSIM_NATIVE_ENGINE_RECORD_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A run of bytes [addr, addr + len). */
typedef struct pprsim_rec_span {
  uintptr_t addr;
  size_t len;
} pprsim_rec_span;

/* What one task did to tracked memory. Both span arrays are sorted by address, their runs are
 * disjoint, and no run touches the next (adjacent runs are merged). `data` holds the bytes of
 * the written runs one after another, in the order of `writes`, as they were at
 * pprsim_rec_end. */
typedef struct pprsim_rec_log {
  const pprsim_rec_span *reads; /* bytes read before the task wrote them */
  size_t read_count;
  const pprsim_rec_span *writes; /* bytes the task wrote */
  size_t write_count;
  const unsigned char *data;
  size_t data_len; /* the sum of the writes' lengths */
} pprsim_rec_log;

/* Results of the calls that can refuse. */
enum {
  PPRSIM_REC_OK = 0,
  PPRSIM_REC_EBUSY = 1,    /* not allowed while a task records */
  PPRSIM_REC_EINVAL = 2,   /* an empty range, or one that overlaps a tracked range */
  PPRSIM_REC_EFULL = 3,    /* too many tracked ranges */
  PPRSIM_REC_ENOMEM = 4,   /* the shadow memory could not be mapped */
  PPRSIM_REC_ENOTASK = 5,  /* no task to end or to roll back */
  PPRSIM_REC_ENOTFOUND = 6 /* untrack of a range that is not tracked */
};

/* At most this many ranges are tracked at once. */
#define PPRSIM_REC_MAX_RANGES 8

/* Records accesses to [lo, hi) from now on. lo and hi need no alignment; the range must not
 * overlap one already tracked. Costs a shadow mapping of the range's size (reserved, not
 * touched until the range is). Not allowed while a task records. */
int pprsim_rec_track(const void *lo, const void *hi);
/* Stops tracking the range [lo, hi) given to pprsim_rec_track, exactly. */
int pprsim_rec_untrack(const void *lo, const void *hi);

/* Starts recording a task. The previous task's undo copies are dropped: it can no longer be
 * rolled back (it is kept). Returns PPRSIM_REC_EBUSY if a task already records. */
int pprsim_rec_begin(void);
/* Whether a task records now. */
int pprsim_rec_recording(void);
/* Stops recording and returns the task's log, owned by the caller (pprsim_rec_log_free), or
 * NULL when no task records or memory ran out. The task can still be rolled back. */
pprsim_rec_log *pprsim_rec_end(void);
/* Puts every tracked byte the last task wrote back to its value at pprsim_rec_begin (the
 * runtime copies the old bytes of each write that reaches a byte the task had not written).
 * Ends the task first if it still records. PPRSIM_REC_ENOTASK when there is nothing to roll
 * back. */
int pprsim_rec_rollback(void);
/* Writes a log's bytes into memory (a committed task's writes, again). Not recorded, and not
 * allowed while a task records. */
int pprsim_rec_apply(const pprsim_rec_log *log);
void pprsim_rec_log_free(pprsim_rec_log *log);
/* Gives the pages of the runtime's own bookkeeping back to the system (between tasks it is all
 * zero, and reads as zero again when next touched). A process that forks after it copies none
 * of those page tables: over a 256 MiB heap they were as many as the heap's own. Not allowed
 * while a task records. */
int pprsim_rec_trim(void);

/* The memory functions, recorded: the source is read, then the destination written. */
void *pprsim_shim_memcpy(void *dst, const void *src, size_t n);
void *pprsim_shim_memmove(void *dst, const void *src, size_t n);
void *pprsim_shim_memset(void *dst, int c, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* PPRSIM_NATIVE_ENGINE_RECORD_RUNTIME_H */
