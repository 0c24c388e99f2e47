/* A size-class allocator written for a BOP (behavior-oriented parallelization) runtime, against
 * BOP's own interface only (bop_api.h, bop_ports.h, malloc_wrapper.h, utils.h): the worked
 * example of the README's "verify your own C allocator". pprsim runs it unmodified with the
 * shipped BOP-compatibility port:
 *
 *     pprsim replay TRACE --alloc native:native/examples/bop_classes.c,port=bop --group-size 4
 *
 * Blocks are powers of two from 32 bytes to 16 MiB, each with a 16-byte header (next link, then a
 * word with the class, the owner and a live bit); larger objects are regions of their own from
 * sys_malloc. Between groups one free list per class serves everything.
 *
 * PPR safety is the divide-and-merge of dmmalloc: before a group forks (ppr_group_init) the
 * lists are divided, a share of each class per task, into per-task slots of a global table;
 * task k allocates from slot k only, frees a block it allocated itself back into it, and defers
 * every other free to the commit in a row of its own (not linked through the blocks: two tasks
 * freeing the same block, a conflict of the program's, must not both write its header). So no task touches what another one
 * does. After the commit (task_group_succ_fini) MAIN puts every slot's blocks back into its
 * lists and carries out the deferred frees of the tasks that committed: a task that was aborted
 * left its slot as carved, since its writes never reached MAIN. A task that needs what its slot
 * cannot give asks for a rescue (BOP_malloc_rescue) and is re-run sequentially.
 *
 * Compiled with -DBOP_CLASSES_SHARED_LISTS it forgets all of that and lets tasks pop the shared
 * lists, as an allocator unaware of speculation does: the test that pprsim catches it.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bop_api.h"
#include "bop_ports.h"
#include "malloc_wrapper.h"
#include "utils.h"

enum {
  kClasses = 20,        /* 32 B .. 16 MiB */
  kMinShift = 5,
  kHeader = 16,
  kMaxTasks = 64,
  kSlotBytes = 64 << 10, /* what a task gets of each class, in bytes (classes up to 64 KiB) */
  kMaxDeferred = 1024     /* frees a task may defer to the commit */
};

#define LIVE ((uint64_t)1 << 63)
#define LARGE ((uint64_t)1 << 62)
#define SHIM ((uint64_t)1 << 61)
#define CLASS_MASK ((uint64_t)0xff)

typedef struct block {
  struct block *next;
  uint64_t word; /* class (or LARGE | region bytes), owner << 8, LIVE; or SHIM | offset */
} block;

/* Between groups: the lists, and how many blocks each holds. */
static block *heads[kClasses];
static uint64_t counts[kClasses];
/* The group: task k's share of each class (its own from task init on), the frees it defers, and
 * whether it ran (set by the task itself: an aborted task's writes never reach MAIN). */
static uint64_t group_serial;
static int group_tasks;
static block *slots[kMaxTasks][kClasses];
/* Kept in the task's own row, never linked through the blocks: two tasks that free the same
 * block (a program's own conflict) must not both write its header. */
static block *deferred[kMaxTasks][kMaxDeferred];
static int deferred_count[kMaxTasks];
static int ran[kMaxTasks];

static uint64_t block_size(int c) { return (uint64_t)1 << (c + kMinShift); }

static int class_of(size_t n) {
  int c = 0;
  while (c < kClasses && block_size(c) < n + kHeader) ++c;
  return c; /* kClasses: too large for a class */
}

static int in_task(void) { return task_status == MAIN || task_status == SPEC; }

/* The owner of a block a task allocates: the group and the task, never 0 (blocks allocated
 * between groups have owner 0). */
static uint64_t owner_tag(int k) { return ((group_serial << 7) | (uint64_t)(k + 1)) & 0xffffffffffffull; }

static void push(block **list, block *b) {
  b->next = *list;
  *list = b;
}

static block *pop(block **list) {
  block *b = *list;
  if (b != NULL) *list = b->next;
  return b;
}

/* More blocks of class c between groups: a chunk of at least 64 KiB from the system. */
static int grow(int c) {
  const uint64_t size = block_size(c);
  const uint64_t n = size >= kSlotBytes ? 1 : kSlotBytes / size;
  char *chunk = sys_calloc((size_t)n, (size_t)size);
  if (chunk == NULL) return 0;
  for (uint64_t i = n; i-- > 0;) {
    block *b = (block *)(chunk + i * size);
    b->word = (uint64_t)c;
    push(&heads[c], b);
  }
  counts[c] += n;
  return 1;
}

/* A block of class c from `lists` (the shared ones, or a task's slot), splitting a larger one
 * when c's list is empty: the halves not needed go to the lists below. */
static block *take(block **lists, int c) {
  int from = c;
  while (from < kClasses && lists[from] == NULL) ++from;
  if (from == kClasses) return NULL;
  block *b = pop(&lists[from]);
  if (lists == heads) --counts[from];
  while (from > c) {
    --from;
    block *half = (block *)((char *)b + block_size(from));
    half->word = (uint64_t)from;
    push(&lists[from], half);
    if (lists == heads) ++counts[from];
  }
  return b;
}

static void *large_alloc(size_t n) {
  if (in_task()) {
    BOP_malloc_rescue("large object in a PPR task", n);
    return NULL;
  }
  block *b = sys_malloc(n + kHeader);
  if (b == NULL) return NULL;
  b->next = NULL;
  b->word = LIVE | LARGE | (uint64_t)(sys_malloc_usable_size(b) + kHeader);
  return (char *)b + kHeader;
}

void *bc_malloc(size_t n) {
  const int c = class_of(n);
  if (c == kClasses) return large_alloc(n);
  block *b;
#ifndef BOP_CLASSES_SHARED_LISTS
  if (in_task()) {
    b = take(slots[spec_order], c);
    if (b == NULL) {
      BOP_malloc_rescue("the task's share of a size class ran out", n);
      return NULL;
    }
    b->word = (uint64_t)c | owner_tag(spec_order) << 8 | LIVE;
    b->next = NULL;
    return (char *)b + kHeader;
  }
#endif
  b = take(heads, c);
  if (b == NULL) {
    if (!grow(c)) return NULL;
    b = take(heads, c);
  }
  b->word = (uint64_t)c | LIVE;
  b->next = NULL;
  return (char *)b + kHeader;
}

/* The block of payload p: an aligned payload (bc_memalign) has a shim header in front of it
 * that gives its distance from the block. */
static block *header_of(void *p) {
  block *h = (block *)((char *)p - kHeader);
  return (h->word & SHIM) ? (block *)((char *)h - (h->word & ~SHIM)) : h;
}

/* Back into the shared lists (between groups). */
static void release(block *b) {
  if (b->word & LARGE) {
    sys_free(b);
    return;
  }
  const int c = (int)(b->word & CLASS_MASK);
  b->word = (uint64_t)c;
  push(&heads[c], b);
  ++counts[c];
}

void bc_free(void *p) {
  if (p == NULL) return;
  block *b = header_of(p);
  bop_assert(b->word & LIVE);
#ifndef BOP_CLASSES_SHARED_LISTS
  if (in_task()) {
    const int k = spec_order;
    if ((b->word & LARGE) == 0 && (b->word >> 8 & 0xffffffffffffull) == owner_tag(k)) {
      const int c = (int)(b->word & CLASS_MASK);
      b->word = (uint64_t)c;
      push(&slots[k][c], b);
    } else {
      if (deferred_count[k] == kMaxDeferred) BOP_malloc_rescue("too many frees deferred to the commit", 0);
      deferred[k][deferred_count[k]++] = b; /* the commit frees it */
    }
    return;
  }
#endif
  release(b);
}

size_t bc_usable_size(void *p) {
  if (p == NULL) return 0;
  const block *b = header_of(p);
  const size_t before = (size_t)((char *)p - (char *)b - kHeader); /* an aligned payload's shift */
  if (b->word & LARGE) return (size_t)((b->word & ~(LIVE | LARGE)) - kHeader) - before;
  return (size_t)(block_size((int)(b->word & CLASS_MASK)) - kHeader) - before;
}

/* An aligned object: a block large enough to hold it at the alignment, with a shim header just
 * before the aligned payload. */
void *bc_memalign(size_t align, size_t n) {
  if (align == 0 || (align & (align - 1)) != 0) return NULL;
  if (align <= kHeader) return bc_malloc(n);
  if (n > (size_t)-1 / 2 - align) return NULL;
  char *p = bc_malloc(n + align + kHeader);
  if (p == NULL) return NULL;
  uintptr_t q = ((uintptr_t)p + kHeader + align - 1) & ~(uintptr_t)(align - 1);
  block *shim = (block *)(q - kHeader);
  shim->next = NULL;
  shim->word = SHIM | (uint64_t)((char *)shim - (p - kHeader));
  return (void *)q;
}

void *bc_realloc(const void *p, size_t n) {
  if (p == NULL) return bc_malloc(n);
  void *q = (void *)p;
  const size_t have = bc_usable_size(q);
  if (n <= have && class_of(n) == class_of(have) && header_of(q) == (block *)((char *)q - kHeader)) return q;
  void *r = bc_malloc(n);
  if (r == NULL) return NULL;
  memcpy(r, q, n < have ? n : have);
  bc_free(q);
  return r;
}

void *bc_calloc(size_t count, size_t size) {
  if (size != 0 && count > (size_t)-1 / size) return NULL;
  void *p = bc_malloc(count * size);
  if (p != NULL) memset(p, 0, count * size);
  return p;
}

/* ---- The hooks. ---- */

/* In MAIN before the fork: every task's share, growing the lists first where they are short. */
static void carve(void) {
  const int g = BOP_get_group_size();
  bop_assert(g >= 1 && g <= kMaxTasks);
  ++group_serial;
  group_tasks = g;
  for (int c = 0; c < kClasses; ++c) {
    const uint64_t share = block_size(c) > kSlotBytes ? 0 : kSlotBytes / block_size(c);
    while (counts[c] < share * (uint64_t)g) {
      if (!grow(c)) break;
    }
    for (int k = 0; k < g; ++k) {
      slots[k][c] = NULL;
      for (uint64_t i = 0; i < share && heads[c] != NULL; ++i) {
        push(&slots[k][c], pop(&heads[c]));
        --counts[c];
      }
    }
  }
  for (int k = 0; k < g; ++k) {
    deferred_count[k] = 0;
    ran[k] = 0;
  }
}

static void task_init(void) { ran[spec_order] = 1; }

/* Every share back into the lists; the deferred frees of the tasks that ran and committed. */
static void return_shares(int with_deferred) {
  for (int k = 0; k < group_tasks; ++k) {
    for (int c = 0; c < kClasses; ++c) {
      while (slots[k][c] != NULL) {
        block *b = pop(&slots[k][c]);
        push(&heads[c], b);
        ++counts[c];
      }
    }
    if (with_deferred && ran[k]) {
      for (int i = 0; i < deferred_count[k]; ++i) release(deferred[k][i]);
    }
    deferred_count[k] = 0;
    ran[k] = 0;
  }
  group_tasks = 0;
}

static void merge(void) { return_shares(1); }
/* The understudy (and a group re-run sequentially) starts from the group's start: every share
 * goes back, and nothing was deferred yet. */
static void understudy(void) { return_shares(0); }

bop_port_t bop_alloc_port = {
    .ppr_group_init = carve,
    .ppr_task_init = task_init,
    .task_group_succ_fini = merge,
    .undy_init = understudy,
};
