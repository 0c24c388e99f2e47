/* The BOP runtime's interface as a BOP-style allocator sees it, for `--alloc native:...,port=bop`
 * (native/bop/bop_port.c implements it over pprsim's native engine).
 *
 * An allocator written for a behavior-oriented parallelization runtime includes this header and
 * reads where its process stands (task_status, spec_order, the group size), asks the runtime to
 * make the task give up (BOP_malloc_rescue, BOP_abort_spec) and tells it what it will change
 * (BOP_promise). The names and values here are the ones such allocators are written against, so
 * that one builds unmodified; the meaning of each under pprsim is stated beside it.
 */
#ifndef PPRSIM_BOP_API_H
#define PPRSIM_BOP_API_H

#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifndef BOP
#define BOP 1
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef uintptr_t addr_t;

#ifndef TRUE
#define TRUE 1
#define FALSE 0
#endif

/* Where this process stands. SEQ between groups; in a group, task 0 is MAIN and the others SPEC;
 * UNDY in the understudy and while pprsim re-runs a group sequentially. */
typedef enum { SEQ = -2, UNDY, MAIN, SPEC } task_status_t;
typedef enum { PPR = 0, GAP, PSEQ } ppr_pos_t;
/* PARALLEL under pprsim: SERIAL would make a BOP allocator treat every task as sequential. */
typedef enum { SERIAL = 0, PARALLEL } bop_mode_t;

task_status_t BOP_task_status(void);
ppr_pos_t BOP_ppr_pos(void);
bop_mode_t BOP_mode(void);
int BOP_spec_order(void);  /* the task's number in its group (0 outside tasks) */
int BOP_ppr_index(void);   /* the same: pprsim numbers tasks within a group */
int BOP_get_group_size(void);
int BOP_get_verbose(void);
void BOP_set_verbose(int level);

/* A memory range, as BOP's checks report them. */
typedef struct _mem_range_t {
  addr_t base;
  size_t size;
  void *rec;
  unsigned task;
} mem_range_t;

/* BOP_record_write (BOP_promise): the task will change these bytes, so they are committed. pprsim
 * records every byte a task writes; a promise records the range as written too, as it is when
 * promised. BOP_record_read (BOP_use): the bytes are recorded as read. */
void BOP_record_read(void *addr, size_t size);
void BOP_record_write(void *addr, size_t size);
#define BOP_use(x, y) BOP_record_read((x), (y))
#define BOP_promise(x, y) BOP_record_write((x), (y))

/* The task gives up speculation: the call that asked ends at once, the task is aborted and its
 * work re-run sequentially (a rescue). Outside a task they return and change nothing. */
void BOP_abort_spec(const char *msg);
void BOP_abort_next_spec(char *msg);
void BOP_malloc_rescue(char *msg, size_t size);

/* Messages to standard error, at or below the verbosity ($BOP_VERBOSE, default 0). */
void bop_set_verbose(int level);
int bop_get_verbose(void);
void bop_msg(int level, const char *msg, ...);

#ifdef __cplusplus
}
#endif

#endif /* PPRSIM_BOP_API_H */
