/* A speculation-aware allocator in plain C, and its port: the worked example of `--alloc native:`
 * for an allocator that divides its free lists among the tasks of a group and merges them at
 * commit (the dmmalloc idea, small). Everything it keeps is ordinary C: globals and headers in
 * its heap. What makes it safe under speculation is only where each process writes:
 *
 *   - MAIN (and the understudy) use the shared lists `shared_lists` and the top `top`;
 *   - group_init, in MAIN before the tasks fork, deals the shared lists' blocks round-robin into
 *     one partition per task (`part[k]`);
 *   - task k allocates from part[k] only, and when that runs dry from memory it obtains in its
 *     own slice (`task_top[k]`); it frees a block it allocated itself into part[k], and notes any
 *     other block in its own array of deferred frees (`deferred[k]`), touching nothing of the
 *     block: another task may read its header;
 *   - merge, in MAIN after the committed tasks' writes were copied in, returns every partition,
 *     the committed tasks' deferred frees and what is left of their slices to the shared lists;
 *     an aborted task's partition is still as carved there, since its writes never arrived.
 *
 * So no two tasks ever write the same word, and pprsim verifies it. Task-dependent state is
 * indexed by pprsim_native_task(), which the runtime keeps outside the allocator's memory.
 *
 * Block: 16-byte header, then the payload. Word 0: the class (low 8 bits; kLarge for a region of
 * its own) and, from bit 8, how far the header sits from the block's start (an aligned payload);
 * word 1: while live, the owner tag (group serial and task); while free, the next free block. A
 * large region's word 1 is its size. */
#include <stddef.h>
#include <stdint.h>

#include "pprsim_port.h"

#define CLASSES 16 /* 32 B .. 1 MiB */
#define HEADER 16
#define LARGE 0xff
#define CHUNK ((size_t)1 << 21)
#define MAX_TASKS 64
#define MAX_DEFERRED 1024 /* per task and group; a task that frees more gives up */

typedef struct {
  char *head;
} list;

static list shared_lists[CLASSES];
static char *top, *top_end;
static list part[MAX_TASKS][CLASSES];
static char *deferred[MAX_TASKS][MAX_DEFERRED];
static int deferred_count[MAX_TASKS];
static char *task_top[MAX_TASKS], *task_end[MAX_TASKS];
static int gave[MAX_TASKS];
static uint64_t serial;

static size_t class_size(int c) { return (size_t)32 << c; }

static int class_of(size_t n) {
  int c = 0;
  while (c < CLASSES && class_size(c) - HEADER < n) ++c;
  return c; /* CLASSES: too large for a class */
}

static uint64_t *word(char *b, int i) { return (uint64_t *)(b + 8 * i); }

static uint64_t owner_tag(int task) { return (serial << 8) | (uint64_t)(task + 1); }

static void push(list *l, char *b) {
  *word(b, 1) = (uint64_t)(uintptr_t)l->head;
  l->head = b;
}

static char *pop(list *l) {
  char *b = l->head;
  if (b != NULL) l->head = (char *)(uintptr_t)*word(b, 1);
  return b;
}

/* Carves a block of class c from a top; NULL when the top cannot hold it and no memory comes. */
static char *carve(char **from, char **end, int c) {
  const size_t size = class_size(c);
  if (*from == NULL || (size_t)(*end - *from) < size) {
    const size_t want = size > CHUNK ? size : CHUNK;
    char *r = pprsim_native_sys_alloc(want); /* in a task: from its own slice */
    if (r == NULL) return NULL;
    *from = r;
    *end = r + want;
  }
  char *b = *from;
  *from += size;
  return b;
}

static char *block_of(void *p) {
  char *h = (char *)p - HEADER;
  return h - (*word(h, 0) >> 8);
}

static void *large_alloc(size_t n) {
  const size_t size = (n + HEADER + 4095) & ~(size_t)4095;
  char *b = pprsim_native_sys_alloc(size);
  if (b == NULL) return NULL;
  *word(b, 0) = LARGE;
  *word(b, 1) = size;
  return b + HEADER;
}

static void *part_malloc(size_t n) {
  const int k = pprsim_native_task();
  const int c = class_of(n);
  if (c == CLASSES) {
    void *p = n > ((size_t)1 << 40) ? NULL : large_alloc(n);
    if (p == NULL && k >= 0) gave[k] = 1;
    return p;
  }
  char *b;
  if (k < 0) {
    b = pop(&shared_lists[c]);
    if (b == NULL) b = carve(&top, &top_end, c);
  } else {
    b = pop(&part[k][c]);
    if (b == NULL) b = carve(&task_top[k], &task_end[k], c);
    if (b == NULL) gave[k] = 1; /* the task gives up speculation */
  }
  if (b == NULL) return NULL;
  *word(b, 0) = (uint64_t)c;
  *word(b, 1) = owner_tag(k);
  return b + HEADER;
}

static void part_free(void *p) {
  if (p == NULL) return;
  char *b = block_of(p);
  const int k = pprsim_native_task();
  const int c = (int)(*word((char *)p - HEADER, 0) & 0xff);
  if (k >= 0 && (c == LARGE || *word(b, 1) != owner_tag(k))) {
    /* Not this task's own block: the free waits for the merge, the block untouched. */
    if (deferred_count[k] == MAX_DEFERRED) {
      gave[k] = 1;
      return;
    }
    deferred[k][deferred_count[k]++] = b;
    return;
  }
  if (c == LARGE) {
    pprsim_native_sys_free(b, *word(b, 1));
    return;
  }
  *word(b, 0) = (uint64_t)c;
  push(k < 0 ? &shared_lists[c] : &part[k][c], b);
}

static size_t part_usable_size(void *p) {
  if (p == NULL) return 0;
  char *h = (char *)p - HEADER;
  const uint64_t w = *word(h, 0);
  char *b = h - (w >> 8);
  const size_t size = (w & 0xff) == LARGE ? *word(b, 1) : class_size((int)(w & 0xff));
  return size - HEADER - (size_t)(w >> 8);
}

static void *part_realloc(void *p, size_t n) {
  if (p == NULL) return part_malloc(n);
  const size_t old = part_usable_size(p);
  if (n <= old) return p;
  char *q = part_malloc(n);
  if (q == NULL) return NULL;
  for (size_t i = 0; i < old; ++i) q[i] = ((char *)p)[i];
  part_free(p);
  return q;
}

static void *part_memalign(size_t align, size_t n) {
  if (align <= HEADER) return part_malloc(n);
  if ((align & (align - 1)) != 0 || n > ((size_t)1 << 40)) return NULL;
  char *p = part_malloc(n + align);
  if (p == NULL) return NULL;
  char *q = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
  if (q != p) *word(q - HEADER, 0) = *word(p - HEADER, 0) | ((uint64_t)(q - p) << 8);
  return q;
}

/* ---- The group hooks ---- */

static int part_group_init(int g) {
  if (g < 1 || g > MAX_TASKS) return 0;
  ++serial;
  for (int c = 0; c < CLASSES; ++c) {
    int k = 0;
    for (char *b; (b = pop(&shared_lists[c])) != NULL; k = (k + 1) % g) push(&part[k][c], b);
  }
  return 1;
}

static void part_task_init(int k) {
  gave[k] = 0;
  deferred_count[k] = 0;
}

/* Every partition back to the shared lists (the understudy, or MAIN re-running the group). */
static void return_partitions(int g) {
  for (int k = 0; k < g; ++k) {
    for (int c = 0; c < CLASSES; ++c) {
      for (char *b; (b = pop(&part[k][c])) != NULL;) push(&shared_lists[c], b);
    }
  }
}

static void part_understudy_init(void) { return_partitions(pprsim_native_group_size()); }

/* What is left of a committed task's slice, cut into blocks for the shared lists. */
static void keep_rest(char *from, char *end) {
  for (int c = CLASSES - 1; c >= 0; --c) {
    while (from != NULL && (size_t)(end - from) >= class_size(c)) {
      *word(from, 0) = (uint64_t)c;
      push(&shared_lists[c], from);
      from += class_size(c);
    }
  }
}

static void part_merge(int ntasks, int committed) {
  for (int k = 0; k < committed; ++k) {
    for (int i = 0; i < deferred_count[k]; ++i) {
      char *b = deferred[k][i];
      const int c = (int)(*word(b, 0) & 0xff);
      if (c == LARGE) {
        pprsim_native_sys_free(b, *word(b, 1));
      } else {
        push(&shared_lists[c], b);
      }
    }
    keep_rest(task_top[k], task_end[k]);
  }
  return_partitions(ntasks);
  for (int k = 0; k < ntasks; ++k) {
    deferred_count[k] = 0;
    task_top[k] = task_end[k] = NULL;
  }
}

static int part_gave_up(void) {
  const int k = pprsim_native_task();
  return k >= 0 && gave[k];
}

static const struct pprsim_port port = {
    .version = PPRSIM_PORT_VERSION,
    .name = "partitioned",
    .malloc = part_malloc,
    .free = part_free,
    .realloc = part_realloc,
    .memalign = part_memalign,
    .usable_size = part_usable_size,
    .group_init = part_group_init,
    .task_init = part_task_init,
    .understudy_init = part_understudy_init,
    .merge = part_merge,
    .gave_up = part_gave_up,
};

const struct pprsim_port *pprsim_port(void) { return &port; }
