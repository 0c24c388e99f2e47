/* BOP's helper declarations as a BOP-style allocator includes them: messages, assertions, the
 * environment, and the mspace type of a dlmalloc header. */
#ifndef PPRSIM_BOP_UTILS_H
#define PPRSIM_BOP_UTILS_H

#include <signal.h>

#include "bop_api.h"
#include "external/malloc.h"

#ifdef __cplusplus
extern "C" {
#endif

int get_int_from_env(const char *env, int min, int max, int def);

/* A failed bop_assert is the allocator's failure: a message naming the condition, the file and
 * the line, then abort, which pprsim reports as the call's crash with the task and trace line. */
void pprsim_bop_assert_failed(const char *cond, const char *file, int line);
#define bop_assert(x) ((x) ? (void)0 : pprsim_bop_assert_failed(#x, __FILE__, __LINE__))

#ifndef NDEBUG
#define bop_debug(x, ...) bop_msg(3, "%s:%d " #x, __FILE__, __LINE__, ##__VA_ARGS__)
#else
#define bop_debug(...)
#endif

#define nop() __asm__ volatile("nop")

#ifdef __cplusplus
}
#endif

#endif /* PPRSIM_BOP_UTILS_H */
