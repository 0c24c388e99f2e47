/* The port of native/examples/bop_classes.c: the shipped BOP-compatibility port
 * (native/bop/bop_port.c) with the allocator's entry-point names. */
#define BOP_PORT_NAME "bop-classes"
#define BOP_PORT_MALLOC bc_malloc
#define BOP_PORT_FREE bc_free
#define BOP_PORT_REALLOC bc_realloc
#define BOP_PORT_CALLOC bc_calloc
#define BOP_PORT_USABLE_SIZE bc_usable_size
#define BOP_PORT_MEMALIGN bc_memalign
#include "bop_port.c"
