/* The PPR hooks of libpprsim_dmmalloc.so, the dmmalloc drop-in allocator (C API).
 *
 * A fork-based runtime (BOP style: PPR tasks are forked processes committed in order) calls
 * these around its own forks so that the tasks of one group never touch the same allocator
 * metadata:
 *
 *   parent:    pprsim_dm_group_init(g)          before forking the g tasks of a group
 *   task k:    pprsim_dm_task_init(k)           first thing after the fork
 *              ... malloc/free as usual ...
 *              pprsim_dm_task_state(buf, cap)   before it ends: its allocator's group state,
 *                                               which the runtime hands to the survivor
 *   understudy: pprsim_dm_understudy_init()     (sequential re-execution of the group)
 *   survivor:  pprsim_dm_merge(states, sizes, g, committed)
 *                                               in the process that goes on, on the committed
 *                                               memory: returns unused partitions and applies
 *                                               the committed tasks' deferred frees
 *
 * Outside groups the library is an ordinary malloc (LD_PRELOAD or link with -lpprsim_dmmalloc).
 * group_init also reserves one slice of address space per task (1 GiB each, PROT_NONE: no
 * memory behind it), and fails when the system refuses it. A task that runs out of its
 * partition, or needs a large object, maps what it needs at the start of its own slice, so
 * tasks never map the same addresses; the runtime commits those pages like any other page the
 * task wrote (the task's state records how far it used its slice), and merge gives the rest of
 * the reservation back. Only a request the slice cannot hold gets NULL with pprsim_dm_gave_up()
 * true: the runtime must then abort the task and re-run its work sequentially.
 *
 * Heap misuse ends the process (SIGABRT) after one line on standard error naming the call, the
 * pointer and the misuse, as glibc does:
 *   pprsim_dmmalloc: free(0x7f...): double free
 *   pprsim_dmmalloc: free(0x7f...): pointer into the middle of a block
 *   pprsim_dmmalloc: free(0x7f...): not a block this allocator handed out
 * and the same for realloc and malloc_usable_size ("block already freed" for a freed one). It is
 * found from the block header just below the pointer and a check that the pointer lies in the
 * span of memory the library mapped, so what escapes it is what leaves no trace there: a double
 * free of a block handed out again since, or of a large object whose region went back to the
 * system (that free faults, SIGSEGV); a second free, inside a task, of a block allocated before
 * its group (the task defers frees of blocks it does not own to the merge).
 */
#ifndef PPRSIM_DMMALLOC_H
#define PPRSIM_DMMALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version 2: pprsim_dm_task_init and pprsim_dm_understudy_init return int (they were void and
 * accepted any call); every hook refuses a call out of place (-1 or 0 with errno EINVAL) and
 * leaves the allocator as it was. */
#define PPRSIM_DMMALLOC_API_VERSION 2

/* The most tasks a group may have: each reserves a 1 GiB slice of address space, so the most
 * reserves 1 TiB (of the 128 TiB a process has on x86-64 Linux). */
#define PPRSIM_DM_MAX_TASKS 1024

/* No C++ exception ever leaves the library. When its own bookkeeping finds no memory, the call
 * fails as the C API says it fails (malloc NULL and ENOMEM, a hook -1 and ENOMEM), and a task
 * that could not record a free or a region it mapped gives up (pprsim_dm_gave_up). */

/* In the parent before the fork: divides the free lists into `tasks` partitions.
 * 0 on success, -1 with errno EINVAL when tasks is outside [1, PPRSIM_DM_MAX_TASKS] or a group
 * is open already (in its parent or in one of its tasks: merge or understudy_init closes it),
 * ENOMEM when system memory refuses (for the free lists, the partitions' bookkeeping or the
 * slices' address space). A call that fails opens no group and reserves nothing (memory it
 * obtained for the free lists stays there, free). */
int pprsim_dm_group_init(int tasks);

/* In task k after the fork. 0 on success; -1 (errno EINVAL) when no group is open, k is out of
 * [0, tasks), or this process is a task already. */
int pprsim_dm_task_init(int k);

/* In the understudy (or for a sequential re-execution of the group): all partitions go back.
 * 0 on success; -1 (errno EINVAL) when no group is open or this process is one of its tasks
 * (a task's own partition is no longer as carved). */
int pprsim_dm_understudy_init(void);

/* Whether this task gave up speculation (an allocation it could not serve inside its part, or
 * bookkeeping of a free or a region that found no memory). */
int pprsim_dm_gave_up(void);

/* In a task: writes its group state into buf (at most cap bytes). Returns the bytes it needs;
 * when that is more than cap nothing is written. Outside a task there is no state: 0, errno
 * EINVAL. */
size_t pprsim_dm_task_state(void* buf, size_t cap);

/* In the survivor, on the committed memory: tasks [0, committed) committed in order, their
 * states from pprsim_dm_task_state (states[k] may be NULL for an aborted task). Also learns the
 * next carve from the tasks' demand. 0 on success, -1 (errno EINVAL) on a malformed state,
 * tasks other than the group's, committed > tasks, or a call outside a group, -1 (errno
 * ENOMEM) when there is no memory for the tasks' states; nothing is changed then. */
int pprsim_dm_merge(const void* const* states, const size_t* sizes, size_t tasks, size_t committed);

#ifdef __cplusplus
}
#endif

#endif
