/* An example pprsim plugin in C: a PPR-aware size-class allocator (alloc/pprsim_plugin.h).
 *
 *  - Power-of-two classes of 32 B .. 64 KiB. Each class grows by 128 KiB chunks from system
 *    memory, cut into blocks of that class only. Larger objects get a region of their own.
 *  - Block header (16 bytes, in simulated memory): word0 = magic | flags | class;
 *    word1 = free: next block on its list; live: owner tag (group serial << 8 | task + 1).
 *  - group_init(g): every class gets `quota` free blocks per task (growing first), split off the
 *    shared lists into g partitions. task_init(k): the task allocates only from partition k. Out
 *    of blocks, it grows its partition by a chunk from its own slice of address space
 *    (task_sys_alloc, ABI version 2), and a large object gets a region from there too; only when
 *    the slice refuses does it give up (rescue). A free of a block this task allocated in this
 *    group goes back to its partition; any other free is deferred to the merge.
 *  - merge: committed tasks' partitions as they left them, their deferred frees, and aborted
 *    tasks' partitions as carved all return to the shared lists. learn: quota per class follows
 *    the largest demand of one task, decaying.
 *
 * Built with -DPPRSIM_EXAMPLE_BROKEN it has one bug, for pprsim fuzz to find: a task whose
 * partition is empty takes a block from the shared list instead of giving up.
 *
 * Out-of-band state is a malloc'd struct (cloned at each fork, see the header for why).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/pprsim_plugin.h"

enum {
  kMinShift = 5,
  kMaxShift = 16,
  kClasses = kMaxShift - kMinShift + 1,
  kHeader = 16,
};
#define CHUNK ((uint64_t)128 << 10)
#define MAGIC ((uint64_t)0xC1A5 << 48)
#define MAGIC_MASK ((uint64_t)0xFFFF << 48)
#define LIVE ((uint64_t)1 << 8)
#define LARGE ((uint64_t)1 << 9)
#define SHIM ((uint64_t)1 << 10)
#define CLASS_MASK ((uint64_t)0xFF)

typedef const struct pprsim_memory Mem;

struct list {
  pprsim_addr head;
  uint64_t count;
};

struct state {
  struct list shared[kClasses];
  /* The current group: g partitions as carved; in a task, its own partition now. */
  int groups;
  struct list *carve; /* groups * kClasses */
  struct list mine[kClasses];
  pprsim_addr *deferred;
  size_t ndeferred, cap_deferred;
  int task; /* -1: SEQ */
  uint64_t serial;
  int gave_up;
  /* Sizing and statistics. */
  uint32_t quota[kClasses];
  uint32_t taken[kClasses];
  int rescue_class;
  uint64_t reserved, task_bytes;
};

static uint64_t class_size(int c) { return (uint64_t)1 << (c + kMinShift); }

static int class_of(uint64_t n) {
  int c = 0;
  if (n > class_size(kClasses - 1) - kHeader) return kClasses;
  while (class_size(c) - kHeader < n) ++c;
  return c;
}

static uint64_t tag(const struct state *s) {
  return s->task < 0 ? 0 : (s->serial << 8) | (uint64_t)(s->task + 1);
}

static void push(Mem *m, struct list *l, int c, pprsim_addr b) {
  m->store64(m->ctx, b, MAGIC | (uint64_t)c);
  m->store64(m->ctx, b + 8, l->head);
  l->head = b;
  ++l->count;
}

static pprsim_addr pop(Mem *m, struct list *l) {
  pprsim_addr b = l->head;
  if (b == 0) return 0;
  l->head = m->load64(m->ctx, b + 8);
  --l->count;
  return b;
}

/* The last block of a list (0 for an empty one). */
static pprsim_addr tail_of(Mem *m, const struct list *l) {
  pprsim_addr b = l->head;
  for (uint64_t i = 1; i < l->count; ++i) b = m->load64(m->ctx, b + 8);
  return b;
}

/* Puts all of `src` in front of `dst`. */
static void splice(Mem *m, struct list *dst, const struct list *src) {
  if (src->count == 0) return;
  m->store64(m->ctx, tail_of(m, src) + 8, dst->head);
  dst->head = src->head;
  dst->count += src->count;
}

static int grow(Mem *m, struct state *s, int c) {
  pprsim_addr r = m->sys_alloc(m->ctx, CHUNK);
  if (r == 0) return 0;
  for (uint64_t off = CHUNK; off > 0; off -= class_size(c)) push(m, &s->shared[c], c, r + off - class_size(c));
  return 1;
}

/* In a task: a chunk from the task's own slice, cut into blocks of class c on its partition. */
static int task_grow(Mem *m, struct state *s, int c) {
  pprsim_addr r = m->task_sys_alloc(m->ctx, CHUNK);
  if (r == 0) return 0;
  for (uint64_t off = CHUNK; off > 0; off -= class_size(c)) push(m, &s->mine[c], c, r + off - class_size(c));
  return 1;
}

static void *create(Mem *m) {
  (void)m;
  struct state *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  s->task = -1;
  s->rescue_class = -1;
  for (int c = 0; c < kClasses; ++c) s->quota[c] = 2;
  return s;
}

static void *clone(const void *p) {
  const struct state *s = p;
  struct state *t = malloc(sizeof *t);
  if (t == NULL) return NULL;
  *t = *s;
  t->carve = NULL;
  t->deferred = NULL;
  if (s->groups > 0) {
    t->carve = malloc(sizeof(struct list) * (size_t)s->groups * kClasses);
    if (t->carve == NULL) goto fail;
    memcpy(t->carve, s->carve, sizeof(struct list) * (size_t)s->groups * kClasses);
  }
  if (s->cap_deferred > 0) {
    t->deferred = malloc(sizeof(pprsim_addr) * s->cap_deferred);
    if (t->deferred == NULL) goto fail;
    memcpy(t->deferred, s->deferred, sizeof(pprsim_addr) * s->ndeferred);
  }
  return t;
fail:
  free(t->carve);
  free(t);
  return NULL;
}

static void destroy(void *p) {
  struct state *s = p;
  free(s->carve);
  free(s->deferred);
  free(s);
}

static pprsim_addr rescue(struct state *s, int c) {
  s->gave_up = 1;
  s->rescue_class = c;
  return 0;
}

static pprsim_addr c_malloc(void *p, Mem *m, uint64_t n) {
  struct state *s = p;
  if (s->gave_up || n > ((uint64_t)1 << 40)) return 0;
  int c = class_of(n);
  if (c == kClasses) {
    uint64_t size = (n + kHeader + PPRSIM_PAGE_SIZE - 1) / PPRSIM_PAGE_SIZE * PPRSIM_PAGE_SIZE;
    pprsim_addr r = s->task >= 0 ? m->task_sys_alloc(m->ctx, size) : m->sys_alloc(m->ctx, size);
    if (r == 0) return s->task >= 0 ? rescue(s, c) : 0;
    m->store64(m->ctx, r, MAGIC | LIVE | LARGE | CLASS_MASK);
    m->store64(m->ctx, r + 8, size);
    return r + kHeader;
  }
  pprsim_addr b;
  if (s->task >= 0) {
    b = pop(m, &s->mine[c]);
#ifdef PPRSIM_EXAMPLE_BROKEN
    if (b == 0) b = pop(m, &s->shared[c]); /* the bug: shared state touched inside a task */
#endif
    if (b == 0 && task_grow(m, s, c)) b = pop(m, &s->mine[c]);
    if (b == 0) return rescue(s, c);
    ++s->taken[c];
    s->task_bytes += class_size(c);
  } else {
    if (s->shared[c].count == 0 && !grow(m, s, c)) return 0;
    b = pop(m, &s->shared[c]);
  }
  m->store64(m->ctx, b, MAGIC | LIVE | (uint64_t)c);
  m->store64(m->ctx, b + 8, tag(s));
  return b + kHeader;
}

/* The block of payload p (following a shim), or 0 when p is no live object. */
static pprsim_addr block_of(Mem *m, pprsim_addr p) {
  if (p < kHeader || (p & 15) != 0) return 0;
  pprsim_addr h = p - kHeader;
  uint64_t w = m->load64(m->ctx, h);
  if ((w & MAGIC_MASK) != MAGIC || (w & LIVE) == 0) return 0;
  if (w & SHIM) {
    h -= m->load64(m->ctx, h + 8);
    w = m->load64(m->ctx, h);
    if ((w & MAGIC_MASK) != MAGIC || (w & LIVE) == 0 || (w & SHIM)) return 0;
  }
  return h;
}

static uint64_t block_size(Mem *m, pprsim_addr b) {
  uint64_t w = m->load64(m->ctx, b);
  return (w & LARGE) ? m->load64(m->ctx, b + 8) : class_size((int)(w & CLASS_MASK));
}

static uint64_t c_usable_size(void *p, Mem *m, pprsim_addr a) {
  (void)p;
  pprsim_addr b = a == 0 ? 0 : block_of(m, a);
  return b == 0 ? 0 : b + block_size(m, b) - a;
}

static void defer(struct state *s, pprsim_addr b) {
  if (s->ndeferred == s->cap_deferred) {
    size_t cap = s->cap_deferred ? 2 * s->cap_deferred : 16;
    pprsim_addr *d = realloc(s->deferred, cap * sizeof *d);
    if (d == NULL) abort();
    s->deferred = d;
    s->cap_deferred = cap;
  }
  s->deferred[s->ndeferred++] = b;
}

static void release(Mem *m, struct state *s, pprsim_addr b) {
  uint64_t w = m->load64(m->ctx, b);
  if (w & LARGE) {
    m->sys_free(m->ctx, b, m->load64(m->ctx, b + 8));
  } else {
    push(m, &s->shared[w & CLASS_MASK], (int)(w & CLASS_MASK), b);
  }
}

static void c_free(void *p, Mem *m, pprsim_addr a) {
  struct state *s = p;
  if (a == 0) return;
  pprsim_addr b = block_of(m, a);
  if (b == 0) return;
  uint64_t w = m->load64(m->ctx, b);
  if (s->task >= 0) {
    if ((w & LARGE) == 0 && m->load64(m->ctx, b + 8) == tag(s)) {
      push(m, &s->mine[w & CLASS_MASK], (int)(w & CLASS_MASK), b);
    } else {
      defer(s, b);
    }
    return;
  }
  release(m, s, b);
}

static pprsim_addr c_calloc(void *p, Mem *m, uint64_t count, uint64_t size) {
  if (size != 0 && count > ((uint64_t)1 << 40) / size) return 0;
  pprsim_addr a = c_malloc(p, m, count * size);
  if (a != 0) m->zero(m->ctx, a, count * size);
  return a;
}

static pprsim_addr c_memalign(void *p, Mem *m, uint64_t align, uint64_t n) {
  if (align == 0 || (align & (align - 1)) != 0) return 0;
  if (align <= kHeader) return c_malloc(p, m, n);
  if (n > ((uint64_t)1 << 40) || align > ((uint64_t)1 << 40)) return 0;
  pprsim_addr a = c_malloc(p, m, (n ? n : 1) + align - kHeader);
  if (a == 0) return 0;
  pprsim_addr q = (a + align - 1) / align * align;
  if (q == a) return a;
  m->store64(m->ctx, q - kHeader, MAGIC | LIVE | SHIM);
  m->store64(m->ctx, q - kHeader + 8, q - a);
  return q;
}

static pprsim_addr c_realloc(void *p, Mem *m, pprsim_addr a, uint64_t n) {
  if (a == 0) return c_malloc(p, m, n);
  if (n == 0) {
    c_free(p, m, a);
    return 0;
  }
  uint64_t old = c_usable_size(p, m, a);
  if (n <= old) return a;
  pprsim_addr q = c_malloc(p, m, n);
  if (q == 0) return 0;
  m->copy(m->ctx, q, a, old);
  c_free(p, m, a);
  return q;
}

static void clear_group(struct state *s) {
  free(s->carve);
  s->carve = NULL;
  s->groups = 0;
  memset(s->mine, 0, sizeof s->mine);
  s->ndeferred = 0;
  s->task = -1;
  s->gave_up = 0;
  s->rescue_class = -1;
}

static int group_init(void *p, Mem *m, int g) {
  struct state *s = p;
  if (g < 1 || s->task >= 0) return 0;
  for (int c = 0; c < kClasses; ++c) {
    while (s->shared[c].count < (uint64_t)g * s->quota[c]) {
      if (!grow(m, s, c)) return 0;
    }
  }
  struct list *carve = calloc((size_t)g * kClasses, sizeof *carve);
  if (carve == NULL) return 0;
  s->reserved = 0;
  for (int k = 0; k < g; ++k) {
    for (int c = 0; c < kClasses; ++c) {
      struct list *part = &carve[k * kClasses + c];
      struct list *l = &s->shared[c];
      part->head = l->head;
      part->count = s->quota[c];
      pprsim_addr last = tail_of(m, part);
      l->head = m->load64(m->ctx, last + 8);
      l->count -= part->count;
      m->store64(m->ctx, last + 8, 0);
      s->reserved += part->count * class_size(c);
    }
  }
  free(s->carve);
  s->carve = carve;
  s->groups = g;
  ++s->serial;
  return 1;
}

static void task_init(void *p, Mem *m, int k) {
  struct state *s = p;
  (void)m;
  s->task = k;
  memcpy(s->mine, &s->carve[k * kClasses], sizeof s->mine);
  s->ndeferred = 0;
  memset(s->taken, 0, sizeof s->taken);
  s->task_bytes = 0;
  s->gave_up = 0;
  s->rescue_class = -1;
}

static void understudy_init(void *p, Mem *m) {
  struct state *s = p;
  for (int k = 0; k < s->groups; ++k) {
    for (int c = 0; c < kClasses; ++c) splice(m, &s->shared[c], &s->carve[k * kClasses + c]);
  }
  clear_group(s);
}

static void merge(void *p, Mem *m, const void *const *tasks, size_t ntasks, size_t committed) {
  struct state *s = p;
  for (int k = 0; k < s->groups; ++k) {
    const struct state *t = (size_t)k < ntasks ? tasks[k] : NULL;
    const int done = (size_t)k < committed && t != NULL;
    for (int c = 0; c < kClasses; ++c) {
      splice(m, &s->shared[c], done ? &t->mine[c] : &s->carve[k * kClasses + c]);
    }
  }
  for (size_t k = 0; k < committed && k < ntasks; ++k) {
    const struct state *t = tasks[k];
    for (size_t i = 0; i < t->ndeferred; ++i) release(m, s, t->deferred[i]);
  }
  clear_group(s);
}

static void learn(void *p, const void *const *tasks, size_t ntasks) {
  struct state *s = p;
  for (int c = 0; c < kClasses; ++c) {
    uint32_t demand = 0;
    for (size_t k = 0; k < ntasks; ++k) {
      const struct state *t = tasks[k];
      if (t->taken[c] > demand) demand = t->taken[c];
      if (t->rescue_class == c && 2 * s->quota[c] > demand) demand = 2 * s->quota[c];
    }
    uint32_t decayed = s->quota[c] - s->quota[c] / 4;
    uint32_t q = demand + 2 > decayed ? demand + 2 : decayed;
    s->quota[c] = q > 4096 ? 4096 : q;
  }
}

static int gave_up(const void *p) { return ((const struct state *)p)->gave_up; }
static uint64_t reserved_bytes(const void *p) { return ((const struct state *)p)->reserved; }
static uint64_t task_allocated_bytes(const void *p) { return ((const struct state *)p)->task_bytes; }

static int walk_region(void *p, Mem *m, pprsim_addr base, uint64_t size, pprsim_block_visit visit, void *cookie) {
  (void)p;
  uint64_t w = m->load64(m->ctx, base);
  struct pprsim_block b = {base, size, PPRSIM_BLOCK_CORRUPT, -1, 0, 0};
  if ((w & MAGIC_MASK) == MAGIC && (w & LARGE)) {
    if (m->load64(m->ctx, base + 8) != size) {
      visit(cookie, &b);
      return 0;
    }
    b.kind = PPRSIM_BLOCK_LIVE;
    b.payload = base + kHeader;
    b.usable = size - kHeader;
    visit(cookie, &b);
    return 1;
  }
  for (pprsim_addr a = base; a < base + size;) {
    w = m->load64(m->ctx, a);
    uint64_t c = w & CLASS_MASK;
    if ((w & MAGIC_MASK) != MAGIC || (w & (LARGE | SHIM)) || c >= kClasses || class_size((int)c) > base + size - a) {
      b.start = a;
      b.size = base + size - a;
      b.kind = PPRSIM_BLOCK_CORRUPT;
      visit(cookie, &b);
      return 0;
    }
    b.start = a;
    b.size = class_size((int)c);
    b.size_class = (int32_t)c;
    b.kind = (w & LIVE) ? PPRSIM_BLOCK_LIVE : PPRSIM_BLOCK_FREE;
    b.payload = (w & LIVE) ? a + kHeader : 0;
    b.usable = (w & LIVE) ? b.size - kHeader : 0;
    visit(cookie, &b);
    a += b.size;
  }
  return 1;
}

static void walk_lists(Mem *m, const struct list *lists, uint64_t max_steps, pprsim_free_visit visit, void *cookie) {
  for (int c = 0; c < kClasses; ++c) {
    pprsim_addr b = lists[c].head;
    for (uint64_t i = 0; b != 0 && i < max_steps; ++i) {
      visit(cookie, b, c);
      b = m->load64(m->ctx, b + 8);
    }
  }
}

static void walk_free(void *p, Mem *m, uint64_t max_steps, pprsim_free_visit visit, void *cookie) {
  struct state *s = p;
  walk_lists(m, s->shared, max_steps, visit, cookie);
  if (s->task >= 0) walk_lists(m, s->mine, max_steps, visit, cookie);
  for (int k = 0; k < s->groups; ++k) {
    if (k != s->task) walk_lists(m, &s->carve[k * kClasses], max_steps, visit, cookie);
  }
}

static void describe(void *p, Mem *m, pprsim_addr base, uint64_t size, pprsim_addr a, char *out, size_t len) {
  (void)p;
  (void)size;
  uint64_t w = m->load64(m->ctx, base);
  if ((w & MAGIC_MASK) == MAGIC && (w & LARGE)) {
    snprintf(out, len, "%s of the large object at %#llx", a - base < kHeader ? "header" : "payload",
             (unsigned long long)base);
    return;
  }
  /* Blocks of one chunk all have its class: the block holding a is found by arithmetic. */
  uint64_t c = w & CLASS_MASK;
  if (c >= kClasses) return;
  pprsim_addr b = base + (a - base) / class_size((int)c) * class_size((int)c);
  uint64_t off = a - b;
  int live = (m->load64(m->ctx, b) & LIVE) != 0;
  snprintf(out, len, "class %d (%llu B) %s %s at %#llx", (int)c, (unsigned long long)class_size((int)c),
           live ? "live block" : "free block",
           off < 8 ? "header word" : off < kHeader ? (live ? "owner tag" : "free-list link") : "payload",
           (unsigned long long)b);
}

static int cmp_addr(const void *x, const void *y) {
  pprsim_addr a = *(const pprsim_addr *)x, b = *(const pprsim_addr *)y;
  return a < b ? -1 : a > b;
}

/* Appends one list's blocks to seen[], checking each header and the count. */
static int check_list(Mem *m, const struct list *l, int c, const char *name, pprsim_addr **seen, size_t *n,
                      size_t *cap, char *out, size_t len) {
  pprsim_addr b = l->head;
  for (uint64_t i = 0; i < l->count; ++i) {
    if (b == 0) {
      snprintf(out, len, "%s list of class %d ends after %llu of its %llu blocks", name, c, (unsigned long long)i,
               (unsigned long long)l->count);
      return 1;
    }
    uint64_t w = (b & 15) == 0 ? m->load64(m->ctx, b) : 0;
    if ((w & MAGIC_MASK) != MAGIC || (w & (LIVE | LARGE | SHIM)) || (w & CLASS_MASK) != (uint64_t)c) {
      snprintf(out, len, "%s list of class %d: block %#llx has no free class-%d header", name, c,
               (unsigned long long)b, c);
      return 1;
    }
    if (*n == *cap) {
      *cap = *cap ? 2 * *cap : 256;
      pprsim_addr *g = realloc(*seen, *cap * sizeof *g);
      if (g == NULL) abort();
      *seen = g;
    }
    (*seen)[(*n)++] = b;
    b = m->load64(m->ctx, b + 8);
  }
  if (l->count != 0 && b != 0) {
    snprintf(out, len, "%s list of class %d holds more than its count %llu", name, c, (unsigned long long)l->count);
    return 1;
  }
  return 0;
}

/* Invariants: every list is counted right and holds free headers of its class; no block is on
 * two lists (partitions disjoint); in a task, deferred frees name distinct live blocks. */
static int verify(void *p, Mem *m, char *out, size_t len) {
  struct state *s = p;
  pprsim_addr *seen = NULL;
  size_t n = 0, cap = 0;
  int bad = 0;
  char name[32];
  for (int c = 0; c < kClasses && !bad; ++c) bad = check_list(m, &s->shared[c], c, "shared", &seen, &n, &cap, out, len);
  for (int c = 0; c < kClasses && !bad && s->task >= 0; ++c) {
    bad = check_list(m, &s->mine[c], c, "task's own", &seen, &n, &cap, out, len);
  }
  for (int k = 0; k < s->groups && !bad; ++k) {
    if (k == s->task) continue;
    snprintf(name, sizeof name, "partition %d", k);
    for (int c = 0; c < kClasses && !bad; ++c) bad = check_list(m, &s->carve[k * kClasses + c], c, name, &seen, &n, &cap, out, len);
  }
  if (!bad) {
    qsort(seen, n, sizeof *seen, cmp_addr);
    for (size_t i = 1; i < n && !bad; ++i) {
      if (seen[i] == seen[i - 1]) {
        snprintf(out, len, "block %#llx is on two free lists", (unsigned long long)seen[i]);
        bad = 1;
      }
    }
  }
  for (size_t i = 0; i < s->ndeferred && !bad; ++i) {
    uint64_t w = m->load64(m->ctx, s->deferred[i]);
    if ((w & MAGIC_MASK) != MAGIC || (w & LIVE) == 0) {
      snprintf(out, len, "deferred free of %#llx, which is no live block", (unsigned long long)s->deferred[i]);
      bad = 1;
    }
  }
  free(seen);
  return bad;
}

static const struct pprsim_allocator kAllocator = {
    .abi_version = PPRSIM_PLUGIN_ABI_VERSION,
#ifdef PPRSIM_EXAMPLE_BROKEN
    .name = "classes-broken",
#else
    .name = "classes",
#endif
    .create = create,
    .clone = clone,
    .destroy = destroy,
    .malloc = c_malloc,
    .calloc = c_calloc,
    .memalign = c_memalign,
    .realloc = c_realloc,
    .free = c_free,
    .usable_size = c_usable_size,
    .group_init = group_init,
    .task_init = task_init,
    .understudy_init = understudy_init,
    .merge = merge,
    .learn = learn,
    .gave_up = gave_up,
    .reserved_bytes = reserved_bytes,
    .task_allocated_bytes = task_allocated_bytes,
    .walk_region = walk_region,
    .walk_free = walk_free,
    .describe = describe,
    .verify = verify,
};

const struct pprsim_allocator *pprsim_plugin(void) { return &kAllocator; }
