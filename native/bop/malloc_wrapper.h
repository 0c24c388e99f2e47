/* The system memory a BOP-style allocator takes for itself (sys_malloc and kin), and the C API
 * its wrapper defines. Under pprsim the sys_ functions serve from pprsim's arena at fixed
 * addresses (native/bop/bop_port.c): inside a task, from the task's own slice. */
#ifndef PPRSIM_BOP_MALLOC_WRAPPER_H
#define PPRSIM_BOP_MALLOC_WRAPPER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void *sys_malloc(size_t n);
void *sys_realloc(void *p, size_t n);
void sys_free(void *p);
void *sys_calloc(size_t count, size_t size);
size_t sys_malloc_usable_size(void *p);
int sys_posix_memalign(void **out, size_t align, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* PPRSIM_BOP_MALLOC_WRAPPER_H */
