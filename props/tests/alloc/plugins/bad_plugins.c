/* Plugins that are wrong on purpose, for the tests of props/tests/alloc/plugin_test.cpp. One
 * source, one variant per build:
 *   BAD_ABI      reports ABI version 99;
 *   NO_MALLOC    leaves a required function NULL;
 *   OUTSIDE      returns an address outside any memory it obtained;
 *   OVERLAP      a bump allocator that hands every request the same block (no census walks:
 *                the other checks still run and must catch it);
 *   HANG_FREE    a working bump allocator (blocks never reused, groups always run serially)
 *                whose free never returns;
 *   CRASH_MALLOC malloc dereferences a null pointer (SIGSEGV);
 *   ABORT_MALLOC malloc calls abort() (SIGABRT). */
#include <stdlib.h>

#include "alloc/pprsim_plugin.h"

#ifdef HANG_FREE
#define BUMP 1
#endif

struct state {
  pprsim_addr region;
  int gave_up;
  uint64_t used; /* BUMP: bytes of region handed out */
  uint64_t cap;  /* BUMP: bytes in region */
};

static void *create(const struct pprsim_memory *m) {
  (void)m;
  return calloc(1, sizeof(struct state));
}
static void *clone(const void *p) {
  struct state *t = malloc(sizeof *t);
  if (t != NULL) *t = *(const struct state *)p;
  return t;
}
static void destroy(void *p) { free(p); }

#ifdef BUMP
/* Each block: a 16-byte header holding the size, then the payload; a new region when full. */
static pprsim_addr bump(struct state *s, const struct pprsim_memory *m, uint64_t align, uint64_t n) {
  const uint64_t need = ((n + 15) & ~(uint64_t)15) + 16 + align;
  if (n > ((uint64_t)1 << 40)) return 0;
  if (s->region == 0 || s->cap - s->used < need) {
    const uint64_t size = need > ((uint64_t)1 << 20) ? (need + PPRSIM_PAGE_SIZE - 1) & ~(uint64_t)(PPRSIM_PAGE_SIZE - 1)
                                                     : (uint64_t)1 << 20;
    const pprsim_addr r = m->sys_alloc(m->ctx, size);
    if (r == 0) return 0;
    s->region = r;
    s->used = 0;
    s->cap = size;
  }
  pprsim_addr a = s->region + s->used + 16;
  if (align > 16) a = (a + align - 1) & ~(align - 1);
  m->store64(m->ctx, a - 16, n);
  s->used = a - s->region + ((n + 15) & ~(uint64_t)15);
  return a;
}
#endif

static pprsim_addr b_malloc(void *p, const struct pprsim_memory *m, uint64_t n) {
  struct state *s = p;
  (void)n;
#if defined(CRASH_MALLOC)
  (void)s;
  (void)m;
  volatile int *volatile nowhere = NULL; /* volatile: the store happens, and faults */
  *nowhere = 1;
  return 0;
#elif defined(ABORT_MALLOC)
  (void)s;
  (void)m;
  abort();
#elif defined(BUMP)
  return bump(s, m, 16, n);
#elif defined(OUTSIDE)
  (void)s;
  (void)m;
  return (pprsim_addr)1 << 45;
#else
  if (s->region == 0) s->region = m->sys_alloc(m->ctx, (uint64_t)1 << 20);
  return s->region == 0 ? 0 : s->region + 16;
#endif
}
static pprsim_addr b_calloc(void *p, const struct pprsim_memory *m, uint64_t c, uint64_t n) {
  pprsim_addr a = b_malloc(p, m, c * n);
  if (a != 0) m->zero(m->ctx, a, c * n);
  return a;
}
static pprsim_addr b_memalign(void *p, const struct pprsim_memory *m, uint64_t al, uint64_t n) {
#ifdef HANG_FREE
  return bump(p, m, al, n);
#else
  (void)al;
  return b_malloc(p, m, n);
#endif
}
static void b_free(void *p, const struct pprsim_memory *m, pprsim_addr a) {
  (void)p;
  (void)m;
  (void)a;
#ifdef HANG_FREE
  if (a != 0) {
    for (volatile int forever = 1; forever;) {
    }
  }
#endif
}
static pprsim_addr b_realloc(void *p, const struct pprsim_memory *m, pprsim_addr a, uint64_t n) {
#ifdef HANG_FREE
  if (a == 0) return b_malloc(p, m, n);
  if (n == 0) {
    b_free(p, m, a);
    return 0;
  }
  const uint64_t old = m->load64(m->ctx, a - 16);
  const pprsim_addr b = b_malloc(p, m, n);
  if (b != 0) m->copy(m->ctx, b, a, old < n ? old : n);
  return b;
#else
  (void)a;
  return n == 0 ? 0 : b_malloc(p, m, n);
#endif
}
static uint64_t b_usable(void *p, const struct pprsim_memory *m, pprsim_addr a) {
  (void)p;
#ifdef HANG_FREE
  return m->load64(m->ctx, a - 16);
#else
  (void)m;
  (void)a;
  return 1 << 19;
#endif
}
static int group_init(void *p, const struct pprsim_memory *m, int g) {
  (void)p;
  (void)m;
  (void)g;
#ifdef BUMP
  return 0; /* never speculates: every group runs serially */
#else
  return 1;
#endif
}
static void task_init(void *p, const struct pprsim_memory *m, int k) {
  (void)p;
  (void)m;
  (void)k;
}
static void understudy_init(void *p, const struct pprsim_memory *m) {
  (void)p;
  (void)m;
}
static void merge(void *p, const struct pprsim_memory *m, const void *const *t, size_t n, size_t c) {
  (void)p;
  (void)m;
  (void)t;
  (void)n;
  (void)c;
}
static int gave_up(const void *p) { return ((const struct state *)p)->gave_up; }

static const struct pprsim_allocator kBad = {
#ifdef BAD_ABI
    .abi_version = 99,
#else
    .abi_version = PPRSIM_PLUGIN_ABI_VERSION,
#endif
    .name = "bad",
    .create = create,
    .clone = clone,
    .destroy = destroy,
#ifndef NO_MALLOC
    .malloc = b_malloc,
#endif
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

const struct pprsim_allocator *pprsim_plugin(void) { return &kBad; }
