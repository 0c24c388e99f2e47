/* The hooks a BOP-style allocator gives its runtime (`bop_port_t bop_alloc_port = {...}`), and the
 * variables a port reads. native/bop/bop_port.c calls the hooks at pprsim's group protocol:
 *   ppr_group_init      in MAIN before a group of two or more tasks forks (status SEQ, the group
 *                       size from BOP_get_group_size)
 *   ppr_task_init       in task k after the fork (spec_order k, status MAIN for task 0, else SPEC)
 *   undy_init           in the understudy, and in MAIN before a group is re-run sequentially
 *   task_group_succ_fini in MAIN after a group's tasks committed and were merged (status SEQ)
 * The others are BOP's own business and are not called: data_commit, report_conflict and
 * ppr_check_correctness (pprsim's commit check decides), task_group_commit (its promises are
 * for BOP's copying; pprsim commits every byte a task wrote), undy_succ_fini.
 */
#ifndef PPRSIM_BOP_PORTS_H
#define PPRSIM_BOP_PORTS_H

#include "bop_api.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  void (*ppr_group_init)(void);
  void (*ppr_task_init)(void);
  int (*ppr_check_correctness)(void);
  void (*report_conflict)(addr_t);
  void (*data_commit)(void);
  void (*task_group_commit)(void);
  void (*task_group_succ_fini)(void);
  void (*undy_init)(void);
  void (*undy_succ_fini)(void);
} bop_port_t;

/* Accepted and ignored: pprsim finds the allocator's hooks by the name bop_alloc_port. */
void register_port(bop_port_t *port, char *desc);

extern volatile task_status_t task_status;
extern volatile ppr_pos_t ppr_pos;
extern bop_mode_t bop_mode;
extern int spec_order;

#define task_parallel_p (ppr_pos == PPR && (task_status == MAIN || task_status == SPEC))

#ifdef __cplusplus
}
#endif

#endif /* PPRSIM_BOP_PORTS_H */
