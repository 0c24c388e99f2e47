/* The mspace type and calls of a dlmalloc header (dlmalloc's "malloc.h" with MSPACES), as a
 * BOP-style allocator built on dlmalloc declares them. The definitions come from the dlmalloc
 * source the allocator is built with (given in the native: spec like any other source). */
#ifndef PPRSIM_BOP_EXTERNAL_MALLOC_H
#define PPRSIM_BOP_EXTERNAL_MALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void *mspace;

mspace create_mspace(size_t capacity, int locked);
mspace create_mspace_with_base(void *base, size_t capacity, int locked);
size_t destroy_mspace(mspace msp);
void *mspace_malloc(mspace msp, size_t bytes);
void mspace_free(mspace msp, void *mem);
void *mspace_calloc(mspace msp, size_t n_elements, size_t elem_size);
void *mspace_realloc(mspace msp, void *mem, size_t newsize);
void *mspace_memalign(mspace msp, size_t alignment, size_t bytes);
size_t mspace_usable_size(const void *mem);
size_t mspace_footprint(mspace msp);

#ifdef __cplusplus
}
#endif

#endif /* PPRSIM_BOP_EXTERNAL_MALLOC_H */
