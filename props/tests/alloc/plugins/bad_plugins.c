/* Plugins that are wrong on purpose, for the tests of props/tests/alloc/plugin_test.cpp. One
 * source, one variant per build:
 *   BAD_ABI      reports ABI version 99;
 *   NO_MALLOC    leaves a required function NULL;
 *   OUTSIDE      returns an address outside any memory it obtained;
 *   OVERLAP      a bump allocator that hands every request the same block (no census walks:
 *                the other checks still run and must catch it). */
#include <stdlib.h>

#include "alloc/pprsim_plugin.h"

struct state {
  pprsim_addr region;
  int gave_up;
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

static pprsim_addr b_malloc(void *p, const struct pprsim_memory *m, uint64_t n) {
  struct state *s = p;
  (void)n;
#ifdef OUTSIDE
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
  (void)al;
  return b_malloc(p, m, n);
}
static pprsim_addr b_realloc(void *p, const struct pprsim_memory *m, pprsim_addr a, uint64_t n) {
  (void)a;
  return n == 0 ? 0 : b_malloc(p, m, n);
}
static void b_free(void *p, const struct pprsim_memory *m, pprsim_addr a) {
  (void)p;
  (void)m;
  (void)a;
}
static uint64_t b_usable(void *p, const struct pprsim_memory *m, pprsim_addr a) {
  (void)p;
  (void)m;
  (void)a;
  return 1 << 19;
}
static int group_init(void *p, const struct pprsim_memory *m, int g) {
  (void)p;
  (void)m;
  (void)g;
  return 1;
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
