/* A plugin whose misbehaviour the test chooses, for props/tests/tools/containment_test.cpp.
 * Otherwise a correct (if wasteful) bump allocator: 16-byte header holding the size, free does
 * nothing, no census. The environment picks what goes wrong, read at create():
 *
 *   PPRSIM_TEST_MISBEHAVE   segv-malloc | abort-malloc | fpe-malloc | overflow-malloc |
 *                           hang-free | hang-in-callback-free | null-create | null-malloc |
 *                           misaligned-malloc | unmapped-malloc | low-malloc | wild-load-malloc |
 *                           fill-malloc (writes 32 MiB of its own bytes: pprsim's memory limit)
 *   PPRSIM_TEST_AFTER       how many calls of that function behave first (default 0)
 *   PPRSIM_TEST_IN_TASK     only inside task k of a group (default: anywhere)
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/pprsim_plugin.h"

enum mode {
  NONE,
  SEGV_MALLOC,
  ABORT_MALLOC,
  FPE_MALLOC,
  OVERFLOW_MALLOC,
  HANG_FREE,
  HANG_IN_CALLBACK_FREE,
  NULL_CREATE,
  NULL_MALLOC,
  MISALIGNED_MALLOC,
  UNMAPPED_MALLOC,
  LOW_MALLOC,
  WILD_LOAD_MALLOC,
  FILL_MALLOC,
};

struct state {
  pprsim_addr next, end;
  enum mode mode;
  long after;    /* calls of the misbehaving function that still behave */
  int in_task;   /* -1: anywhere */
  int task;      /* -1: not in a task */
};

static enum mode mode_from(const char *s) {
  static const struct {
    const char *name;
    enum mode mode;
  } names[] = {{"segv-malloc", SEGV_MALLOC},     {"abort-malloc", ABORT_MALLOC},
               {"fpe-malloc", FPE_MALLOC},       {"overflow-malloc", OVERFLOW_MALLOC},
               {"hang-free", HANG_FREE},         {"hang-in-callback-free", HANG_IN_CALLBACK_FREE},
               {"null-create", NULL_CREATE},     {"null-malloc", NULL_MALLOC},
               {"misaligned-malloc", MISALIGNED_MALLOC}, {"unmapped-malloc", UNMAPPED_MALLOC},
               {"low-malloc", LOW_MALLOC},       {"wild-load-malloc", WILD_LOAD_MALLOC},
               {"fill-malloc", FILL_MALLOC}};
  if (s == NULL) return NONE;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
    if (strcmp(s, names[i].name) == 0) return names[i].mode;
  }
  return NONE;
}

/* Whether this call of a function in mode `m` misbehaves now. */
static int now(struct state *s, enum mode m) {
  if (s->mode != m) return 0;
  if (s->in_task >= 0 && s->task != s->in_task) return 0;
  if (s->after > 0) {
    --s->after;
    return 0;
  }
  return 1;
}

static volatile int g_sink;
static int *volatile g_wild = (int *)16; /* a pointer the compiler cannot see through */
static volatile int g_depth = 1 << 30;   /* deeper than any stack */

static int recurse(int n) {
  volatile char pad[1024];
  pad[0] = (char)n;
  if (n >= g_depth) return pad[0];
  return recurse(n + 1) + pad[0];
}

static void *create(const struct pprsim_memory *m) {
  (void)m;
  const char *after = getenv("PPRSIM_TEST_AFTER");
  const char *in_task = getenv("PPRSIM_TEST_IN_TASK");
  enum mode mode = mode_from(getenv("PPRSIM_TEST_MISBEHAVE"));
  if (mode == NULL_CREATE) return NULL;
  struct state *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  s->mode = mode;
  s->after = after != NULL ? atol(after) : 0;
  s->in_task = in_task != NULL ? atoi(in_task) : -1;
  s->task = -1;
  return s;
}
static void *clone(const void *p) {
  struct state *t = malloc(sizeof *t);
  if (t != NULL) *t = *(const struct state *)p;
  return t;
}
static void destroy(void *p) { free(p); }

static pprsim_addr bump(struct state *s, const struct pprsim_memory *m, uint64_t n) {
  const uint64_t need = 16 + ((n + 15) & ~(uint64_t)15);
  if (s->next == 0 || s->end - s->next < need) {
    const uint64_t region = need > (1u << 20) ? (need + 4095) & ~(uint64_t)4095 : (1u << 20);
    const pprsim_addr r = m->sys_alloc(m->ctx, region);
    if (r == 0) return 0;
    s->next = r;
    s->end = r + region;
  }
  const pprsim_addr block = s->next;
  s->next += need;
  m->store64(m->ctx, block, n);
  return block + 16;
}

static pprsim_addr b_malloc(void *p, const struct pprsim_memory *m, uint64_t n) {
  struct state *s = p;
  if (now(s, SEGV_MALLOC)) g_sink = *g_wild;
  if (now(s, ABORT_MALLOC)) abort();
  if (now(s, FPE_MALLOC)) raise(SIGFPE);
  if (now(s, OVERFLOW_MALLOC)) g_sink = recurse(0);
  if (now(s, NULL_MALLOC)) return 0;
  if (now(s, UNMAPPED_MALLOC)) return (pprsim_addr)1 << 45;
  if (now(s, LOW_MALLOC)) return 4096;
  if (now(s, WILD_LOAD_MALLOC)) g_sink = (int)m->load64(m->ctx, 0xdead0000);
  if (now(s, FILL_MALLOC)) {
    static unsigned char junk[1 << 16];
    memset(junk, 0xab, sizeof junk);
    const uint64_t size = (uint64_t)32 << 20;
    const pprsim_addr r = m->sys_alloc(m->ctx, size);
    for (uint64_t off = 0; r != 0 && off < size; off += sizeof junk) m->write(m->ctx, r + off, junk, sizeof junk);
  }
  const pprsim_addr a = bump(s, m, n);
  if (a != 0 && now(s, MISALIGNED_MALLOC)) return a + 8;
  return a;
}
static pprsim_addr b_calloc(void *p, const struct pprsim_memory *m, uint64_t c, uint64_t n) {
  if (n != 0 && c > UINT64_MAX / n) return 0;
  const pprsim_addr a = b_malloc(p, m, c * n);
  if (a != 0) m->zero(m->ctx, a, c * n);
  return a;
}
static pprsim_addr b_memalign(void *p, const struct pprsim_memory *m, uint64_t al, uint64_t n) {
  if (al <= 16) return b_malloc(p, m, n);
  const pprsim_addr a = b_malloc(p, m, n + al);
  return a == 0 ? 0 : (a + al - 1) / al * al;
}
static uint64_t b_usable(void *p, const struct pprsim_memory *m, pprsim_addr a) {
  (void)p;
  return m->load64(m->ctx, a - 16);
}
static pprsim_addr b_realloc(void *p, const struct pprsim_memory *m, pprsim_addr a, uint64_t n) {
  if (a == 0) return b_malloc(p, m, n);
  if (n == 0) return 0;
  const pprsim_addr b = b_malloc(p, m, n);
  if (b == 0) return 0;
  const uint64_t old = b_usable(p, m, a);
  m->copy(m->ctx, b, a, old < n ? old : n);
  return b;
}
static void b_free(void *p, const struct pprsim_memory *m, pprsim_addr a) {
  struct state *s = p;
  (void)a;
  if (now(s, HANG_FREE)) {
    for (;;) g_sink = g_sink + 1;
  }
  if (now(s, HANG_IN_CALLBACK_FREE)) {
    for (;;) g_sink = (int)m->load64(m->ctx, a - 16);
  }
}
static int group_init(void *p, const struct pprsim_memory *m, int g) {
  (void)p;
  (void)m;
  (void)g;
  return 1;
}
static void task_init(void *p, const struct pprsim_memory *m, int k) {
  (void)m;
  ((struct state *)p)->task = k;
}
static void understudy_init(void *p, const struct pprsim_memory *m) {
  (void)m;
  ((struct state *)p)->task = -1;
}
static void merge(void *p, const struct pprsim_memory *m, const void *const *t, size_t n, size_t c) {
  struct state *s = p;
  (void)m;
  (void)n;
  if (c > 0) {
    /* the last committed task's bump pointer goes on (its blocks are committed memory) */
    const struct state *last = t[c - 1];
    s->next = last->next;
    s->end = last->end;
  }
  s->task = -1;
}
static int gave_up(const void *p) {
  (void)p;
  return 0;
}

static const struct pprsim_allocator api = {
    .abi_version = 1, /* written against version 1 (no growth in a task): it must still load */
    .name = "misbehaving",
    .create = create,
    .clone = clone,
    .destroy = destroy,
    .malloc = b_malloc,
    .calloc = b_calloc,
    .memalign = b_memalign,
    .realloc = b_realloc,
    .free = b_free,
    .usable_size = b_usable,
    .group_init = group_init,
    .task_init = task_init,
    .understudy_init = understudy_init,
    .merge = merge,
    .gave_up = gave_up,
};

const struct pprsim_allocator *pprsim_plugin(void) { return &api; }
