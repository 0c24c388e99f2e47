/* The BOP-compatibility port: `--alloc native:ALLOCATOR.c,...,port=bop` runs an allocator written
 * for a behavior-oriented parallelization (BOP) runtime unmodified. It defines what such an
 * allocator expects of its runtime (native/bop/bop_api.h, bop_ports.h, utils.h,
 * malloc_wrapper.h, external/malloc.h; pprsim adds this folder to the include path) and names its
 * entry points and hooks to pprsim.
 *
 * Entry points: by default BOP dmmalloc's names (dm_malloc, dm_free, dm_realloc, dm_calloc,
 * dm_malloc_usable_size). An allocator with other names gets a port of a few lines:
 *
 *     #define BOP_PORT_NAME "comalloc"
 *     #define BOP_PORT_MALLOC co_malloc
 *     ... (BOP_PORT_FREE, BOP_PORT_REALLOC, BOP_PORT_CALLOC, BOP_PORT_USABLE_SIZE)
 *     #include "bop_port.c"
 *
 * memalign: BOP_PORT_MEMALIGN when the port names one (align, size), else alignments up to 16
 * bytes through malloc and larger ones refused, as BOP's own allocators do.
 *
 * Hooks: the allocator's `bop_port_t bop_alloc_port`, called as bop_ports.h says.
 */
#include <stdlib.h>
#include <string.h>

#include "bop_api.h"
#include "bop_ports.h"
#include "malloc_wrapper.h"
#include "pprsim_port.h"
#include "utils.h"

#ifndef BOP_PORT_NAME
#define BOP_PORT_NAME "bop-dmmalloc"
#endif
#ifndef BOP_PORT_MALLOC
#define BOP_PORT_MALLOC dm_malloc
#define BOP_PORT_FREE dm_free
#define BOP_PORT_REALLOC dm_realloc
#define BOP_PORT_CALLOC dm_calloc
#define BOP_PORT_USABLE_SIZE dm_malloc_usable_size
#endif

void *BOP_PORT_MALLOC(size_t n);
void BOP_PORT_FREE(void *p);
void *BOP_PORT_REALLOC(const void *p, size_t n);
void *BOP_PORT_CALLOC(size_t count, size_t size);
size_t BOP_PORT_USABLE_SIZE(void *p);
#ifdef BOP_PORT_MEMALIGN
void *BOP_PORT_MEMALIGN(size_t align, size_t n);
#endif
extern bop_port_t bop_alloc_port;

/* The runtime's own state (where this process stands, the port's call guard) is per process, as
 * a BOP runtime's is: it is no part of what a task commits. The functions that write it are not
 * instrumented, so those writes are not recorded; the allocator's reads of it are, and no task
 * records a write to it, so they never make a conflict. */
#define UNTRACKED __attribute__((no_sanitize("thread")))

/* ---- The runtime's state, as the allocator reads it. ---- */

volatile task_status_t task_status = SEQ;
volatile ppr_pos_t ppr_pos = PSEQ;
bop_mode_t bop_mode = PARALLEL;
int spec_order = 0;
static int verbose = -1;

task_status_t BOP_task_status(void) { return task_status; }
ppr_pos_t BOP_ppr_pos(void) { return ppr_pos; }
bop_mode_t BOP_mode(void) { return bop_mode; }
int BOP_spec_order(void) { return spec_order; }
int BOP_ppr_index(void) { return spec_order; }
int BOP_get_group_size(void) { return pprsim_native_group_size(); }
UNTRACKED void register_port(bop_port_t *port, char *desc) {
  (void)port;
  (void)desc;
}

int get_int_from_env(const char *env, int min, int max, int def) {
  const char *s = getenv(env);
  if (s == NULL || *s == '\0') return def;
  long v = 0;
  int neg = *s == '-';
  for (s += neg; *s >= '0' && *s <= '9'; ++s) {
    v = v * 10 + (*s - '0');
    if (v > max + 1L) break;
  }
  if (*s != '\0') return def;
  if (neg) v = -v;
  return v < min || v > max ? def : (int)v;
}

UNTRACKED int bop_get_verbose(void) {
  if (verbose < 0) verbose = get_int_from_env("BOP_VERBOSE", 0, 9, 0);
  return verbose;
}
int BOP_get_verbose(void) { return bop_get_verbose(); }
UNTRACKED void bop_set_verbose(int level) { verbose = level; }
UNTRACKED void BOP_set_verbose(int level) { verbose = level; }

UNTRACKED void bop_msg(int level, const char *msg, ...) {
  if (level > bop_get_verbose()) return;
  va_list ap;
  va_start(ap, msg);
  fprintf(stderr, "bop[%d]: ", spec_order);
  vfprintf(stderr, msg, ap);
  fputs("\n", stderr);
  va_end(ap);
}

void pprsim_bop_assert_failed(const char *cond, const char *file, int line) {
  fprintf(stderr, "%s:%d: bop_assert(%s) failed\n", file, line, cond);
  abort();
}

/* ---- Giving up: the call that asked ends at once (a jump back to the port's entry point), and
 * the port reports the task as given up. ---- */

static void *call_env[5];
static int in_call = 0;
static int gave_up_in_call = 0;

UNTRACKED static void give_up(void) {
  if (pprsim_native_task() < 0 || !in_call) return;
  gave_up_in_call = 1;
  __builtin_longjmp(call_env, 1);
}

UNTRACKED void BOP_malloc_rescue(char *msg, size_t size) {
  bop_msg(2, "malloc rescue: %s (%lu bytes)", msg, (unsigned long)size);
  give_up();
}
UNTRACKED void BOP_abort_spec(const char *msg) {
  bop_msg(2, "abort speculation: %s", msg);
  give_up();
}
void BOP_abort_next_spec(char *msg) { (void)msg; }

/* Promises and uses are recorded as the writes and reads they announce. */
void __tsan_read_range(void *p, unsigned long n);
void __tsan_write_range(void *p, unsigned long n);
void BOP_record_read(void *addr, size_t size) {
  if (size != 0) __tsan_read_range(addr, size);
}
void BOP_record_write(void *addr, size_t size) {
  if (size != 0) __tsan_write_range(addr, size);
}

/* ---- System memory for the allocator itself: whole pages from pprsim, with the region's size
 * in a 16-byte header before what the caller gets. ---- */

enum { kSysHeader = 16, kPage = 4096 };

void *sys_malloc(size_t n) {
  if (n > (size_t)-1 / 2) return NULL;
  const size_t bytes = (n + kSysHeader + kPage - 1) / kPage * kPage;
  char *r = pprsim_native_sys_alloc(bytes);
  if (r == NULL) return NULL;
  *(size_t *)r = bytes;
  return r + kSysHeader;
}

size_t sys_malloc_usable_size(void *p) {
  return p == NULL ? 0 : *(size_t *)((char *)p - kSysHeader) - kSysHeader;
}

void sys_free(void *p) {
  if (p == NULL) return;
  char *r = (char *)p - kSysHeader;
  pprsim_native_sys_free(r, *(size_t *)r);
}

void *sys_calloc(size_t count, size_t size) {
  if (size != 0 && count > (size_t)-1 / 2 / size) return NULL;
  return sys_malloc(count * size);  /* pprsim's pages come zero-filled */
}

void *sys_realloc(void *p, size_t n) {
  if (p == NULL) return sys_malloc(n);
  const size_t have = sys_malloc_usable_size(p);
  if (n <= have) return p;
  void *q = sys_malloc(n);
  if (q == NULL) return NULL;
  memcpy(q, p, have);
  sys_free(p);
  return q;
}

int sys_posix_memalign(void **out, size_t align, size_t n) {
  if (align == 0 || (align & (align - 1)) != 0 || align > kSysHeader) return 22; /* EINVAL */
  *out = sys_malloc(n);
  return *out == NULL ? 12 : 0; /* ENOMEM */
}

/* ---- The port: each entry point guarded so that a give-up ends it. ---- */

#define GUARDED(T, fail, call)           \
  do {                                   \
    gave_up_in_call = 0;                 \
    if (__builtin_setjmp(call_env)) {    \
      in_call = 0;                       \
      return fail;                       \
    }                                    \
    in_call = 1;                         \
    T result_ = call;                    \
    in_call = 0;                         \
    return result_;                      \
  } while (0)

UNTRACKED static void *port_malloc(size_t n) { GUARDED(void *, NULL, BOP_PORT_MALLOC(n)); }
UNTRACKED static void *port_calloc(size_t count, size_t size) { GUARDED(void *, NULL, BOP_PORT_CALLOC(count, size)); }
UNTRACKED static void *port_realloc(void *p, size_t n) { GUARDED(void *, NULL, BOP_PORT_REALLOC(p, n)); }
static void *memalign_call(size_t align, size_t n) {
#ifdef BOP_PORT_MEMALIGN
  return BOP_PORT_MEMALIGN(align, n);
#else
  return align <= 16 && (align & (align - 1)) == 0 ? BOP_PORT_MALLOC(n) : NULL;
#endif
}
UNTRACKED static void *port_memalign(size_t align, size_t n) { GUARDED(void *, NULL, memalign_call(align, n)); }
static int free_call(void *p) {
  BOP_PORT_FREE(p);
  return 0;
}
UNTRACKED static int guarded_free(void *p) { GUARDED(int, 0, free_call(p)); }
UNTRACKED static void port_free(void *p) { (void)guarded_free(p); }
static size_t port_usable_size(void *p) { return BOP_PORT_USABLE_SIZE(p); }
UNTRACKED static int port_gave_up(void) { return gave_up_in_call; }

UNTRACKED static void port_init(void) {
  task_status = SEQ;
  ppr_pos = PSEQ;
  bop_mode = PARALLEL;
  spec_order = 0;
}

/* A BOP group has at least two tasks (BOP dmmalloc's carve asserts it): a smaller one runs
 * sequentially, as BOP runs a lone PPR. */
UNTRACKED static int port_group_init(int ntasks) {
  if (ntasks < 2) return 0;
  task_status = SEQ;
  ppr_pos = PSEQ;
  spec_order = 0;
  if (bop_alloc_port.ppr_group_init != NULL) bop_alloc_port.ppr_group_init();
  return 1;
}

UNTRACKED static void port_task_init(int k) {
  spec_order = k;
  task_status = k == 0 ? MAIN : SPEC;
  ppr_pos = PPR;
  if (bop_alloc_port.ppr_task_init != NULL) bop_alloc_port.ppr_task_init();
}

UNTRACKED static void port_understudy_init(void) {
  task_status = UNDY;
  ppr_pos = PPR;
  spec_order = 0;
  if (bop_alloc_port.undy_init != NULL) bop_alloc_port.undy_init();
}

UNTRACKED static void port_merge(int ntasks, int committed) {
  (void)ntasks;
  (void)committed;
  task_status = SEQ;
  ppr_pos = PSEQ;
  spec_order = 0;
  if (bop_alloc_port.task_group_succ_fini != NULL) bop_alloc_port.task_group_succ_fini();
}

static const struct pprsim_port bop_pprsim_port = {
    .version = PPRSIM_PORT_VERSION,
    .name = BOP_PORT_NAME,
    .init = port_init,
    .malloc = port_malloc,
    .free = port_free,
    .realloc = port_realloc,
    .calloc = port_calloc,
    .memalign = port_memalign,
    .usable_size = port_usable_size,
    .group_init = port_group_init,
    .task_init = port_task_init,
    .understudy_init = port_understudy_init,
    .merge = port_merge,
    .gave_up = port_gave_up,
    .task_state = NULL,
    .merge_states = NULL,
    .learn_states = NULL,
};

const struct pprsim_port *pprsim_port(void) { return &bop_pprsim_port; }
