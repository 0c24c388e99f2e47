/* Checks libpprsim_dmmalloc.so from a C program linked against it: the C API and its errno,
 * threads, fork, and the PPR hooks around real forks. Prints one line per failed check and
 * exits 1 if any failed, 0 otherwise.
 *
 * With an argument it runs one check of its own instead (see main): `hooks-misuse`, the hooks
 * called out of place; `group-limits`, absurd task counts and a group_init that finds no
 * memory; `slices-refused`, a group_init whose slices the system refuses; `task-out-of-memory`,
 * a task whose bookkeeping finds no memory; `misuse KIND`, heap misuse, which must end the process
 * with SIGABRT and a message on standard error (it prints "ptr P" first, P being the pointer
 * misused). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "native/pprsim_dmmalloc.h"

static int failures = 0;

/* Sizes the compiler cannot see through, so that it does not warn about impossible requests. */
static volatile size_t huge = SIZE_MAX / 2;

#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      printf("FAILED %s:%d: %s\n", __FILE__, __LINE__, #cond);        \
      ++failures;                                                     \
    }                                                                 \
  } while (0)

static void check_api(void) {
  /* dmmalloc's smallest block is 32 bytes with a 16-byte header: glibc would say 24. */
  char* p = malloc(1);
  CHECK(p != NULL && malloc_usable_size(p) == 16);
  free(p);
  CHECK(malloc_usable_size(NULL) == 0);

  errno = 0;
  CHECK(malloc(huge) == NULL && errno == ENOMEM);
  errno = 0;
  CHECK(calloc(huge, 4) == NULL && errno == ENOMEM);
  errno = 0;
  CHECK(reallocarray(NULL, huge, 4) == NULL && errno == ENOMEM);

  unsigned char* z = calloc(1000, 7);
  int zero = z != NULL;
  for (int i = 0; z != NULL && i < 7000; ++i) zero = zero && z[i] == 0;
  CHECK(zero);
  free(z);

  char* r = malloc(10);
  memcpy(r, "0123456789", 10);
  r = realloc(r, 100000);
  CHECK(r != NULL && memcmp(r, "0123456789", 10) == 0 && malloc_usable_size(r) >= 100000);
  r = realloc(r, 5);
  CHECK(r != NULL && memcmp(r, "01234", 5) == 0);
  free(r);
  CHECK(realloc(malloc(8), 0) == NULL);

  /* An object above the largest class (a region of its own): realloc within its usable size
   * keeps it where it is (without the lock), beyond it keeps its bytes, and malloc_usable_size
   * says the same as realloc (also without the lock). */
  char* big = malloc(1 << 20);
  CHECK(big != NULL);
  if (big != NULL) {
    memset(big, 7, 1 << 20);
    const size_t usable = malloc_usable_size(big);
    CHECK(usable >= (1 << 20) && usable < (1 << 20) + 4096);
    CHECK(realloc(big, usable) == big && realloc(big, 100) == big && malloc_usable_size(big) == usable);
    char* bigger = realloc(big, usable + 1);
    CHECK(bigger != NULL && bigger[0] == 7 && bigger[(1 << 20) - 1] == 7 && malloc_usable_size(bigger) > usable);
    free(bigger);
  }

  void* a = NULL;
  CHECK(posix_memalign(&a, 3, 10) == EINVAL && a == NULL);
  CHECK(posix_memalign(&a, 4096, 10) == 0 && ((uintptr_t)a & 4095) == 0);
  free(a);
  errno = 0;
  CHECK(aligned_alloc(24, 48) == NULL && errno == EINVAL);
  void* b = aligned_alloc(64, 128);
  CHECK(b != NULL && ((uintptr_t)b & 63) == 0 && malloc_usable_size(b) >= 128);
  free(b);
  void* m = memalign(256, 1000);
  CHECK(m != NULL && ((uintptr_t)m & 255) == 0);
  free(m);
  void* v = valloc(10);
  CHECK(v != NULL && ((uintptr_t)v & 4095) == 0);
  free(v);
  void* pv = pvalloc(10);
  CHECK(pv != NULL && ((uintptr_t)pv & 4095) == 0 && malloc_usable_size(pv) >= 4096);
  free(pv);
  free(NULL);
}

/* A figure of /proc/self/status in KiB (key: "VmRSS:", "RssAnon:"...), or -1. */
static long status_kib(const char* key) {
  FILE* f = fopen("/proc/self/status", "r");
  if (f == NULL) return -1;
  char line[256];
  long kib = -1;
  const size_t len = strlen(key);
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, key, len) == 0) kib = strtol(line + len, NULL, 10);
  }
  fclose(f);
  return kib;
}

/* Resident memory of this process, in KiB, or -1. */
static long resident_kib(void) { return status_kib("VmRSS:"); }

/* A process with one thread keeps its free blocks in its thread's cache, where the core does not
 * look: calls that the core serves itself (realloc of NULL, aligned allocation, realloc of an
 * aligned object) must still reuse them. Each of these loops cut a fresh block per turn while
 * the freed ones piled up in the cache: 100,000 turns grew the heap by about 19 MB. Run before
 * any thread starts (the check is of the single-threaded mode). */
static void check_single_thread_reuse(void) {
  void* warm = malloc(64);
  free(warm);
  const long before = resident_kib();
  for (int i = 0; i < 100000; ++i) {
    void* p = realloc(NULL, 64);
    void* q = NULL;
    if (p == NULL || posix_memalign(&q, 64, 100) != 0) break;
    memset(p, 1, 64);
    q = realloc(q, 200);
    free(q);
    free(p);
  }
  const long after = resident_kib();
  CHECK(before > 0 && after > 0 && after - before < 2048);
}

/* A buffer that grows a little at a time at the end of the heap grows in place, as in the core:
 * through the thread cache it moved at every class it outgrew and left each old block behind
 * (realloc2-bal in 80 KiB where the core took 36 KiB). Small objects come and go between the
 * growths; the buffer, above every cached list's refill, is the last block cut. */
static void check_growth_at_top(void) {
  char* buf = malloc(40000);
  CHECK(buf != NULL);
  if (buf == NULL) return;
  memset(buf, 7, 40000);
  char* const first = buf;
  int moves = 0;
  for (size_t n = 40000; n < 60000; n += 100) {
    void* small = malloc(24);
    free(small);
    char* grown = realloc(buf, n + 100);
    CHECK(grown != NULL && grown[0] == 7 && grown[n - 1] == 7);
    if (grown == NULL) return;
    moves += grown != buf;
    buf = grown;
    memset(buf + n, 7, 100);
  }
  CHECK(moves == 0 && buf == first);
  free(buf);
}

/* A buffer grown from small to 60 KB beside small objects, then freed, again and again (as a
 * program builds a string per request): the grown buffer ends at the top and goes back into it
 * when freed, so every round after the first ends where the first did. Cached at its last class
 * instead, each round left one such block behind and grew the heap by 64 KiB (98 MB resident
 * after 2,000 rounds where glibc holds 1.6 MB). */
static void check_regrowth_reuses_the_top(void) {
  void* small[2] = {NULL, NULL};
  char* last_first_round = NULL;
  int elsewhere = 0;
  for (int round = 0; round < 100; ++round) {
    char* buf = malloc(512);
    CHECK(buf != NULL);
    if (buf == NULL) return;
    for (size_t n = 640; n < 60000; n += 128) {
      void* s = malloc(128);
      CHECK(s != NULL);
      free(small[0]);
      small[0] = small[1];
      small[1] = s;
      char* grown = realloc(buf, n);
      CHECK(grown != NULL);
      if (grown == NULL) return;
      buf = grown;
    }
    if (round == 1) last_first_round = buf;
    if (round > 1 && buf != last_first_round) ++elsewhere;
    free(buf);
  }
  free(small[0]);
  free(small[1]);
  CHECK(elsewhere == 0);
}

/* A buffer grown 128 bytes at a time from 512 bytes to 600 KiB beside small objects (as the
 * CS:APP realloc-bal trace does) moves to a region of its own once the heap's chunk cannot hold
 * it; the block it leaves behind gives its pages back. Resident growth with it written whole:
 * 608 KiB of anonymous memory here; 764 KiB with the library before (the 160 KiB block it left
 * stayed resident; the same loop in a C program of its own: glibc 736 KiB, jemalloc 740 KiB,
 * tcmalloc 1.9 MiB). Its own process. */
static void check_moved_buffer_gives_its_pages_back(void) {
  /* Anonymous memory only: how many pages of the libraries' code the kernel maps around each
   * fault (fault-around) depends on where they were loaded, and moved VmRSS by 136 KiB. */
  const long before = status_kib("RssAnon:");
  void* small[2] = {NULL, NULL};
  size_t n = 512;
  unsigned char* buf = malloc(n);
  CHECK(buf != NULL);
  if (buf == NULL) return;
  memset(buf, 5, n);
  while (n < 600 * 1024) {
    void* s = malloc(128);
    CHECK(s != NULL);
    free(small[0]);
    small[0] = small[1];
    small[1] = s;
    unsigned char* grown = realloc(buf, n + 128);
    CHECK(grown != NULL);
    if (grown == NULL) return;
    buf = grown;
    memset(buf + n, 5, 128);
    n += 128;
  }
  const long after = status_kib("RssAnon:");
  int intact = 1;
  for (size_t k = 0; k < n; k += 512) intact = intact && buf[k] == 5;
  CHECK(intact && buf[n - 1] == 5);
  printf("resident growth %ld KiB for a buffer of %zu KiB\n", after - before, n / 1024);
  CHECK(before > 0 && after > 0 && after - before < (long)(n / 1024) + 64);
  free(buf);
  free(small[0]);
  free(small[1]);
}

/* A program whose sizes change between phases (python3 building a dict, then its JSON text)
 * reuses the memory of the first phase in the second: free neighbours are joined before the heap
 * grows, and a process with one thread gives its cache back to the core first. Without either,
 * the second phase grew the heap by all it used (6.8 MB here, 0.2 MB with them; python3: 115 MB
 * resident against 105 MB).
 * Run before any thread starts. */
static void check_phases_share_memory(void) {
  enum { kSmall = 40000, kLarge = 4500 };
  static void* obj[kSmall];
  for (int i = 0; i < kSmall; ++i) {
    obj[i] = malloc(200);
    CHECK(obj[i] != NULL);
    if (obj[i] == NULL) return;
    memset(obj[i], 1, 200);
  }
  for (int i = 0; i < kSmall; ++i) free(obj[i]);
  const long before = resident_kib();
  for (int i = 0; i < kLarge; ++i) {  /* 6.9 MB of blocks, in the first phase's 9 MB */
    obj[i] = malloc(1300);
    CHECK(obj[i] != NULL);
    if (obj[i] == NULL) return;
    memset(obj[i], 2, 1300);
  }
  const long after = resident_kib();
  for (int i = 0; i < kLarge; ++i) free(obj[i]);
  CHECK(before > 0 && after > 0 && after - before < 2048);
}

/* A process with one thread: a request whose class has no free block is served from a free
 * block of up to twice its size in the thread's cache, split, before fresh memory is cut (bash's
 * CS:APP trace in 48 KiB instead of 56). Its own process, so that no earlier check left free
 * blocks of either class behind. */
static void check_split_cached(void) {
  char* big = malloc(3000);   /* a 3 KiB block */
  char* after = malloc(3000); /* so that big does not end at the top */
  CHECK(big != NULL && after != NULL);
  if (big == NULL || after == NULL) return;
  memset(big, 1, 3000);
  free(big);
  char* small = malloc(1500); /* a 1.5 KiB block: none is free */
  CHECK(small == big);
  free(small);
  free(after);
}

/* A process with one thread that built a large structure and freed it gives the memory back
 * while its heap is not growing (DmMalloc::trim): 1,500 objects of 100 KB, then 15,000 of 10 KB
 * (the heap past the newest 256 chunks, which the join once left unjoined), each set written
 * whole and freed. Resident growth after both: 24 MB here; 187 MB with the library before the
 * trim (glibc: under 1 MB). Its own process. */
static void check_idle_after_burst(void) {
  static void* obj[15000];
  const long before = resident_kib();
  const size_t sizes[2] = {100000, 10000};
  const int counts[2] = {1500, 15000};
  for (int k = 0; k < 2; ++k) {
    for (int i = 0; i < counts[k]; ++i) {
      obj[i] = malloc(sizes[k]);
      CHECK(obj[i] != NULL);
      if (obj[i] == NULL) return;
      memset(obj[i], 1, sizes[k]);
    }
    for (int i = 0; i < counts[k]; ++i) free(obj[i]);
  }
  const long after = resident_kib();
  printf("resident growth %ld KiB\n", after - before);
  CHECK(before > 0 && after > 0 && after - before < 48 * 1024);
}

/* Hysteresis: a process with one thread that frees 30 MB of 100 KB objects and allocates them
 * again, round after round, pays the trim's page faults in its first rounds only (the trim's
 * step doubles each time what it gave back was taken again). Minor faults a round from the
 * `quiet`th on (0-based): 0 here; 7,500 a round (every page) with a trim at every round. */
static void trim_hysteresis(int quiet) {
  enum { kSize = 100000, kCount = 300, kRounds = 8 };
  static void* obj[kCount];
  long faults[kRounds];
  for (int round = 0; round < kRounds; ++round) {
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    for (int i = 0; i < kCount; ++i) {
      obj[i] = malloc(kSize);
      CHECK(obj[i] != NULL);
      if (obj[i] == NULL) return;
      memset(obj[i], round, kSize);
    }
    for (int i = 0; i < kCount; ++i) free(obj[i]);
    getrusage(RUSAGE_SELF, &ru1);
    faults[round] = ru1.ru_minflt - ru0.ru_minflt;
  }
  printf("minor faults a round:");
  for (int round = 0; round < kRounds; ++round) printf(" %ld", faults[round]);
  printf("\n");
  for (int round = quiet; round < kRounds; ++round) CHECK(faults[round] < kCount * (kSize / 4096) / 20);
}
/* Its own process. */
static void check_trim_hysteresis(void) { trim_hysteresis(4); }

/* The same two checks in a process with threads: a second thread runs each (the main thread
 * waits), so the library is no longer in its single-threaded mode (glibc's
 * __libc_single_threaded stays 0 once a thread started). Its caches are capped then, and the
 * blocks they give back reach the core a list at a time. 200 MB freed by the second thread
 * stayed resident before trims ran with threads (glibc: under 1 MB). Each its own process. */
struct Check {
  void (*run)(void);
};
static void* run_check(void* check) {
  ((const struct Check*)check)->run();
  return NULL;
}
static void in_a_second_thread(void (*run)(void)) {
  struct Check check = {run};
  pthread_t t;
  CHECK(pthread_create(&t, NULL, run_check, &check) == 0);
  pthread_join(t, NULL);
}
static void check_idle_after_burst_threads(void) { in_a_second_thread(check_idle_after_burst); }
/* With threads the library asks whether a trim is due after every 256 KiB the caches give back,
 * where one thread asks only when a class's list reaches its soft cap (1 MiB, then twice as much
 * each time): a trim comes as soon as one is due, each raises the step once at most, and the step
 * passes a round's 34 MB one round later (the fourth round still trims; its faults fall in the
 * fifth). */
static void trim_hysteresis_from_the_sixth_round(void) { trim_hysteresis(5); }
static void check_trim_hysteresis_threads(void) { in_a_second_thread(trim_hysteresis_from_the_sixth_round); }

/* Threads allocate, fill, check and free at once. */
static void* worker(void* arg) {
  const uintptr_t id = (uintptr_t)arg;
  void* keep[64] = {0};
  for (int i = 0; i < 20000; ++i) {
    const int slot = (int)((i * 7 + (int)id) & 63);
    if (keep[slot] != NULL) {
      const unsigned char* c = keep[slot];
      if (c[0] != (unsigned char)id) return (void*)1;
      free(keep[slot]);
    }
    const size_t n = (size_t)(16 + (i * 37) % 3000);
    keep[slot] = malloc(n);
    if (keep[slot] == NULL) return (void*)1;
    memset(keep[slot], (int)id, n);
  }
  for (int s = 0; s < 64; ++s) free(keep[s]);
  return NULL;
}

/* Four threads run `body` with ids 1 to 4 at once; each must return NULL. */
static void four_threads(void* (*body)(void*)) {
  pthread_t t[4];
  for (uintptr_t i = 0; i < 4; ++i) CHECK(pthread_create(&t[i], NULL, body, (void*)(i + 1)) == 0);
  int ok = 1;
  for (int i = 0; i < 4; ++i) {
    void* res;
    pthread_join(t[i], &res);
    ok = ok && res == NULL;
  }
  CHECK(ok);
}

static void check_threads(void) { four_threads(worker); }

/* Trims while other threads work: four threads each build 12 MB of objects of 1-64 KiB in
 * rounds, check them (every 512th byte and the last) and free them, so the frees ask for trims
 * (and get them: the step is 8 MiB) while the other threads allocate, write and free from their
 * caches and the core. Every object keeps its bytes while it is live. Its own process. */
static void* trimming_worker(void* arg) {
  const uintptr_t id = (uintptr_t)arg;
  enum { kObjects = 400, kRounds = 6 };
  unsigned char* obj[kObjects];
  size_t size[kObjects];
  uint64_t x = 0x9E3779B97F4A7C15ull * id;
  for (int round = 0; round < kRounds; ++round) {
    for (int i = 0; i < kObjects; ++i) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      size[i] = 1024 + (size_t)(x % (63 * 1024));
      obj[i] = malloc(size[i]);
      if (obj[i] == NULL) return (void*)1;
      memset(obj[i], (int)(id * 16 + (uintptr_t)i % 16), size[i]);
    }
    for (int i = 0; i < kObjects; ++i) {
      const unsigned char want = (unsigned char)(id * 16 + (uintptr_t)i % 16);
      for (size_t k = 0; k < size[i]; k += 512) {
        if (obj[i][k] != want || obj[i][size[i] - 1] != want) return (void*)1;
      }
      free(obj[i]);
    }
  }
  return NULL;
}
static void check_trim_while_threads_work(void) { four_threads(trimming_worker); }

/* Two threads that take turns allocating 40-byte objects (64-byte blocks) never get blocks
 * on the same 64-byte cache line: each thread's run of blocks cut afresh starts on a line of
 * its own. Run four times, in a child process each, after 0 to 3 blocks of 80 bytes taken by
 * the process alone, so that the top starts at more than one offset within a line (the library
 * before the change shared lines in two of the four). */
enum { kLineRounds = 32, kLinePerRound = 4 };
static pthread_barrier_t line_turn;
static unsigned char* line_obj[2][kLineRounds / 2 * kLinePerRound];
static int line_count[2];

static void* line_taker(void* arg) {
  const int id = (int)(uintptr_t)arg;
  int failed = 0;
  for (int round = 0; round < kLineRounds; ++round) {
    if (round % 2 == id) {
      for (int k = 0; k < kLinePerRound; ++k) {
        unsigned char* p = malloc(40);
        if (p == NULL) {
          failed = 1;  /* on to the barrier all the same: the other thread waits there */
          continue;
        }
        memset(p, id, 40);  /* the thread writes what it holds */
        line_obj[id][line_count[id]++] = p;
      }
    }
    pthread_barrier_wait(&line_turn);
  }
  return failed ? (void*)1 : NULL;
}

/* Whether the 64-byte lines of the blocks of a and b (16 bytes of header below each) meet. */
static int lines_meet(const unsigned char* a, const unsigned char* b) {
  const uintptr_t a0 = ((uintptr_t)a - 16) / 64, a1 = ((uintptr_t)a + 47) / 64;
  const uintptr_t b0 = ((uintptr_t)b - 16) / 64, b1 = ((uintptr_t)b + 47) / 64;
  return a0 <= b1 && b0 <= a1;
}

static int lines_of_their_own(int shift) {
  for (int i = 0; i < shift; ++i) {
    if (malloc(60) == NULL) return 0;  /* kept: the top moves 80 bytes */
  }
  pthread_barrier_init(&line_turn, NULL, 2);
  pthread_t t[2];
  for (uintptr_t i = 0; i < 2; ++i) {
    if (pthread_create(&t[i], NULL, line_taker, (void*)i) != 0) return 0;
  }
  int ok = 1;
  for (int i = 0; i < 2; ++i) {
    void* res;
    pthread_join(t[i], &res);
    ok = ok && res == NULL;
  }
  int shared = 0;
  for (int i = 0; i < line_count[0]; ++i) {
    for (int j = 0; j < line_count[1]; ++j) shared += lines_meet(line_obj[0][i], line_obj[1][j]);
  }
  if (shared > 0) printf("after %d blocks of 80 bytes: %d pairs of the two threads' blocks share a line\n", shift, shared);
  for (int id = 0; id < 2; ++id) {
    for (int i = 0; i < line_count[id]; ++i) ok = ok && line_obj[id][i][39] == id;
  }
  return ok && shared == 0;
}

static void check_threads_keep_their_own_lines(void) {
  for (int shift = 0; shift < 4; ++shift) {
    fflush(stdout);
    const pid_t pid = fork();
    if (pid == 0) {
      const int ok = lines_of_their_own(shift);
      fflush(stdout);
      _exit(ok ? 0 : 1);
    }
    int st = 0;
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
}

/* Threads that only free what other threads allocated (consumers), then threads that allocate
 * again from what the consumers gave back (their full lists go back whole): every object
 * keeps its bytes while it is live, and no block is handed out twice. */
#define PC_OBJECTS 4096
static unsigned char* pc_obj[PC_OBJECTS];
static size_t pc_size[PC_OBJECTS];
static int pc_round;

static void* producer(void* arg) {
  (void)arg;
  for (int i = 0; i < PC_OBJECTS; ++i) {
    pc_size[i] = (size_t)(16 + (i * 53 + pc_round * 11) % 1000);
    pc_obj[i] = malloc(pc_size[i]);
    if (pc_obj[i] == NULL) return (void*)1;
    memset(pc_obj[i], (i + pc_round) & 0xff, pc_size[i]);
  }
  return NULL;
}

static int pc_intact(int i) {
  const unsigned char want = (unsigned char)((i + pc_round) & 0xff);
  return pc_obj[i][0] == want && pc_obj[i][pc_size[i] - 1] == want;
}

static void* consumer(void* arg) {
  (void)arg;
  void* bad = NULL;
  for (int i = 0; i < PC_OBJECTS; ++i) {
    if (!pc_intact(i)) bad = (void*)1;
    free(pc_obj[i]);
  }
  return bad;
}

static void check_producer_consumer(void) {
  int ok = 1;
  for (pc_round = 0; pc_round < 4; ++pc_round) {
    pthread_t t;
    void* res = NULL;
    pthread_create(&t, NULL, producer, NULL);
    pthread_join(t, &res);
    ok = ok && res == NULL;
    pthread_create(&t, NULL, consumer, NULL);
    pthread_join(t, &res);
    ok = ok && res == NULL;
  }
  pthread_t t;
  void* res = NULL;
  pthread_create(&t, NULL, producer, NULL);
  pthread_join(t, &res);
  ok = ok && res == NULL;
  for (int i = 0; i < PC_OBJECTS; ++i) ok = ok && pc_intact(i);
  for (int i = 0; i < PC_OBJECTS; ++i) free(pc_obj[i]);
  CHECK(ok);
}

/* fork() while other threads allocate: the child's heap is consistent. */
static void check_fork_with_threads(void) {
  pthread_t t[2];
  for (uintptr_t i = 0; i < 2; ++i) pthread_create(&t[i], NULL, worker, (void*)(i + 10));
  int ok = 1;
  for (int k = 0; k < 20; ++k) {
    const pid_t pid = fork();
    if (pid == 0) _exit(worker((void*)99) == NULL ? 0 : 1);
    int st = 0;
    waitpid(pid, &st, 0);
    ok = ok && WIFEXITED(st) && WEXITSTATUS(st) == 0;
  }
  for (int i = 0; i < 2; ++i) pthread_join(t[i], NULL);
  CHECK(ok);
}

/* The PPR hooks around real forks. Group of 2: task 0 commits and becomes the survivor (its
 * process goes on with its own memory, which is the committed memory of a group whose later
 * task aborted), task 1 aborts. The survivor merges and keeps allocating; what task 0 allocated
 * stays live, what it freed from before the group is freed at the merge. */
static void check_ppr_hooks(void) {
  char* before = malloc(100);
  strcpy(before, "before the group");
  char* dropped = malloc(200);
  free(malloc(64)); /* a free block of mine's class in this thread's cache */
  CHECK(pprsim_dm_group_init(2) == 0);
  const pid_t pid = fork();
  if (pid == 0) {
    pprsim_dm_task_init(0);
    char* mine = malloc(64);
    /* From the task's partition, so it carries the task's owner tag (the word below the
     * payload, after the header word): a block left in a thread's cache across group_init
     * would come back untagged, and its free would be taken for a free of a shared block. */
    int bad = mine == NULL || *(const volatile uint64_t*)((uintptr_t)mine - 8) == 0;
    strcpy(mine, "task 0");
    free(dropped); /* allocated before the group: deferred to the merge */
    for (int i = 0; i < 10; ++i) free(malloc(48)); /* its own blocks: freed at once */
    bad |= pprsim_dm_gave_up();
    const size_t need = pprsim_dm_task_state(NULL, 0);
    void* state = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    bad |= pprsim_dm_task_state(state, need) != need;
    /* The survivor: task 1 aborted, so it has no state. */
    const void* states[2] = {state, NULL};
    const size_t sizes[2] = {need, 0};
    bad |= pprsim_dm_merge(states, sizes, 2, 1) != 0;
    bad |= strcmp(mine, "task 0") != 0 || strcmp(before, "before the group") != 0;
    /* The heap goes on: a merge outside a group is refused, allocation works. */
    bad |= pprsim_dm_merge(states, sizes, 2, 1) == 0;
    for (int i = 0; i < 1000; ++i) {
      char* q = malloc((size_t)(i % 500) + 1);
      if (q == NULL || q == mine || q == before) bad = 1;
      memset(q, 1, (size_t)(i % 500) + 1);
      free(q);
    }
    bad |= strcmp(mine, "task 0") != 0;
    free(mine);
    free(before);
    _exit(bad ? 1 : 0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  /* The parent runs the group again as the understudy. */
  CHECK(pprsim_dm_understudy_init() == 0);
  char* q = malloc(300);
  CHECK(q != NULL && strcmp(before, "before the group") == 0);
  free(q);
  free(dropped);
  free(before);
  errno = 0;
  CHECK(pprsim_dm_group_init(0) == -1 && errno == EINVAL);
}

/* Every hook called out of place fails with EINVAL and changes nothing: the group goes on. */
static void check_hooks_misuse(void) {
  errno = 0;
  CHECK(pprsim_dm_task_init(0) == -1 && errno == EINVAL); /* no group open */
  errno = 0;
  CHECK(pprsim_dm_understudy_init() == -1 && errno == EINVAL);
  errno = 0;
  CHECK(pprsim_dm_task_state(NULL, 0) == 0 && errno == EINVAL); /* not in a task */
  char* before = malloc(100);
  CHECK(pprsim_dm_group_init(2) == 0);
  errno = 0;
  CHECK(pprsim_dm_group_init(2) == -1 && errno == EINVAL); /* a group is open */
  errno = 0;
  CHECK(pprsim_dm_task_init(7) == -1 && errno == EINVAL);
  errno = 0;
  CHECK(pprsim_dm_task_init(2) == -1 && errno == EINVAL);
  errno = 0;
  CHECK(pprsim_dm_task_init(-1) == -1 && errno == EINVAL);
  errno = 0;
  CHECK(pprsim_dm_task_state(NULL, 0) == 0 && errno == EINVAL); /* in the parent, not a task */
  const pid_t pid = fork();
  if (pid == 0) {
    int bad = pprsim_dm_task_init(1) != 0;
    errno = 0;
    bad |= pprsim_dm_task_init(1) != -1 || errno != EINVAL; /* a task already */
    errno = 0;
    bad |= pprsim_dm_task_init(0) != -1 || errno != EINVAL;
    errno = 0;
    bad |= pprsim_dm_understudy_init() != -1 || errno != EINVAL; /* in a task */
    errno = 0;
    bad |= pprsim_dm_group_init(2) != -1 || errno != EINVAL; /* its group is open */
    char* mine = malloc(64);
    free(before);
    const size_t need = pprsim_dm_task_state(NULL, 0);
    void* state = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    bad |= need == 0 || pprsim_dm_task_state(state, need) != need;
    const void* states[2] = {NULL, state};
    const size_t sizes[2] = {0, need};
    errno = 0;
    bad |= pprsim_dm_merge(states, sizes, 2, 3) != -1 || errno != EINVAL; /* committed > tasks */
    errno = 0;
    bad |= pprsim_dm_merge(states, sizes, 3, 2) != -1 || errno != EINVAL; /* not the group's tasks */
    errno = 0;
    bad |= pprsim_dm_merge(states, sizes, 2, 2) != -1 || errno != EINVAL; /* task 0 has no state */
    /* Task 1 is the survivor of a group whose task 0 was cut away: nothing committed, and
     * what it did is the runtime's to drop; the merge itself still works after the refusals. */
    bad |= pprsim_dm_merge(states, sizes, 2, 0) != 0 || pprsim_dm_task_init(1) != -1;
    (void)mine;
    _exit(bad ? 1 : 0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  CHECK(pprsim_dm_understudy_init() == 0);
  errno = 0;
  CHECK(pprsim_dm_understudy_init() == -1 && errno == EINVAL); /* closed already */
  CHECK(pprsim_dm_group_init(2) == 0 && pprsim_dm_understudy_init() == 0);
  free(before);
}

/* Limits this process's address space to what it has mapped now plus `more` bytes (the soft
 * limit only: restore_address_space lifts it again). */
static struct rlimit saved_as;
static void limit_address_space(size_t more) {
  char buf[64] = {0};
  FILE* f = fopen("/proc/self/statm", "r");
  size_t pages = 0;
  if (f != NULL && fgets(buf, sizeof buf, f) != NULL) pages = strtoul(buf, NULL, 10);
  if (f != NULL) fclose(f);
  CHECK(pages > 0);
  getrlimit(RLIMIT_AS, &saved_as);
  struct rlimit lim = saved_as;
  lim.rlim_cur = pages * (size_t)sysconf(_SC_PAGESIZE) + more;
  CHECK(setrlimit(RLIMIT_AS, &lim) == 0);
}
static void restore_address_space(void) { CHECK(setrlimit(RLIMIT_AS, &saved_as) == 0); }

/* Task counts beyond PPRSIM_DM_MAX_TASKS are EINVAL (1 << 30 of them threw std::bad_alloc
 * through the C API); a group_init that finds no memory is ENOMEM; neither opens a group. */
static void check_group_limits(void) {
  const int absurd[] = {1 << 30, INT_MAX, PPRSIM_DM_MAX_TASKS + 1, -1, INT_MIN};
  for (size_t i = 0; i < sizeof absurd / sizeof absurd[0]; ++i) {
    errno = 0;
    CHECK(pprsim_dm_group_init(absurd[i]) == -1 && errno == EINVAL);
  }
  errno = 0;
  CHECK(pprsim_dm_task_init(0) == -1 && errno == EINVAL); /* no group was opened */
  /* No address space left for the partitions' bookkeeping (the first group of this process:
   * nothing to reuse) or the slices. */
  limit_address_space(0);
  errno = 0;
  CHECK(pprsim_dm_group_init(1000) == -1 && errno == ENOMEM);
  restore_address_space();
  /* The most tasks there may be: a 1 TiB reservation, no memory behind it. */
  CHECK(pprsim_dm_group_init(PPRSIM_DM_MAX_TASKS) == 0 && pprsim_dm_understudy_init() == 0);
}

/* The system refuses the slices' address space: group_init fails (it returned 0, and every
 * task then gave up as soon as it needed memory) and opens no group. */
static void check_slices_refused(void) {
  free(malloc(100));
  limit_address_space((size_t)64 << 20); /* room for the carve, not for 2 GiB of slices */
  errno = 0;
  CHECK(pprsim_dm_group_init(2) == -1 && errno == ENOMEM);
  restore_address_space();
  errno = 0;
  CHECK(pprsim_dm_task_init(0) == -1 && errno == EINVAL);
  CHECK(pprsim_dm_group_init(2) == 0); /* not open already */
  const pid_t pid = fork();
  if (pid == 0) {
    /* The task's slice is there: it grows instead of giving up. */
    int bad = pprsim_dm_task_init(1) != 0;
    for (int i = 0; i < 1000; ++i) bad |= malloc(100000) == NULL;
    bad |= pprsim_dm_gave_up() != 0;
    _exit(bad ? 1 : 0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  CHECK(pprsim_dm_understudy_init() == 0);
}

/* A task frees many blocks from before its group (deferred to the merge) while the system
 * refuses memory: the list of deferred frees cannot grow. The free returns, and the task gives
 * up (std::bad_alloc ended the process). */
static void check_task_out_of_memory(void) {
  enum { kBlocks = 200000 };
  void** blocks = malloc(kBlocks * sizeof(void*));
  for (int i = 0; i < kBlocks; ++i) blocks[i] = malloc(16);
  CHECK(pprsim_dm_group_init(2) == 0);
  const pid_t pid = fork();
  if (pid == 0) {
    int bad = pprsim_dm_task_init(0) != 0 || pprsim_dm_gave_up() != 0;
    limit_address_space(0);
    for (int i = 0; i < kBlocks; ++i) free(blocks[i]);
    bad |= pprsim_dm_gave_up() != 1;
    _exit(bad ? 1 : 0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  CHECK(pprsim_dm_understudy_init() == 0);
  for (int i = 0; i < kBlocks; ++i) free(blocks[i]);
  free(blocks);
}

/* The pointers misused below, hidden from the compiler (it warns about a free of a stack
 * array, and might drop a free it can prove wrong). */
static void* volatile hidden;
static char static_data[64] __attribute__((aligned(16)));

static void* shown(void* p) {
  hidden = p;
  printf("ptr %p\n", hidden);
  fflush(stdout);
  return hidden;
}

/* The pointer last passed to keep(), after it was freed. */
static void keep(void* p) { hidden = p; }
static void* again(void) { return shown(hidden); }

/* One misuse of the heap; returns only if the library let it pass. */
static int misuse(const char* kind) {
  char* p = malloc(100);
  memset(p, 'x', 100);
  if (strcmp(kind, "double-free") == 0) {
    keep(p);
    free(p);
    free(again());
  } else if (strcmp(kind, "free-stack") == 0) {
    _Alignas(16) char local[64];
    memset(local, 0, sizeof local);
    free(shown(local + 16));
  } else if (strcmp(kind, "free-static") == 0) {
    free(shown(static_data + 16));
  } else if (strcmp(kind, "free-interior") == 0) {
    free(shown(p + 32));
  } else if (strcmp(kind, "free-unaligned") == 0) {
    free(shown(p + 1));
  } else if (strcmp(kind, "free-aligned-twice") == 0) {
    char* q = memalign(256, 1000);
    keep(q);
    free(q);
    free(again());
  } else if (strcmp(kind, "free-large-twice") == 0) {
    char* q = malloc((size_t)1 << 20);
    keep(q);
    free(q);
    free(again());
  } else if (strcmp(kind, "free-large-interior") == 0) {
    char* q = malloc((size_t)1 << 20);
    memset(q, 0, (size_t)1 << 20);
    free(shown(q + 600000));
  } else if (strcmp(kind, "free-grown-twice") == 0) {
    /* A buffer grown in place at the top carries dm::kGrown and goes back into the top when
     * freed: the second free finds the top's header there. Standard output's buffer is
     * allocated first: taken from the top after the first free, it would be a live block at
     * that very address, and the second free a valid one. */
    printf("growing a buffer at the top\n");
    fflush(stdout);
    char* q = malloc(5000);
    char* r = realloc(q, 9000);
    if (r != q) {
      printf("the buffer moved instead of growing at the top\n");
      return 2;
    }
    keep(r);
    free(r);
    free(again());
  } else if (strcmp(kind, "realloc-freed") == 0) {
    keep(p);
    free(p);
    p = realloc(again(), 200);
  } else if (strcmp(kind, "realloc-interior") == 0) {
    p = realloc(shown(p + 48), 200);
  } else if (strcmp(kind, "usable-size-freed") == 0) {
    keep(p);
    free(p);
    printf("%zu\n", malloc_usable_size(again()));
  } else {
    printf("unknown misuse %s\n", kind);
    return 2;
  }
  printf("the misuse passed\n");
  return 1;
}

int main(int argc, char** argv) {
  if (argc > 2 && strcmp(argv[1], "misuse") == 0) return misuse(argv[2]);
  if (argc > 1) {
    /* The checks that run in a process of their own. */
    static const struct {
      const char* name;
      void (*run)(void);
    } own[] = {
        {"hooks-misuse", check_hooks_misuse},         {"group-limits", check_group_limits},
        {"slices-refused", check_slices_refused},     {"task-out-of-memory", check_task_out_of_memory},
        {"split-cached", check_split_cached},         {"idle-after-burst", check_idle_after_burst},
        {"trim-hysteresis", check_trim_hysteresis},   {"idle-after-burst-threads", check_idle_after_burst_threads},
        {"trim-hysteresis-threads", check_trim_hysteresis_threads},
        {"trim-while-threads-work", check_trim_while_threads_work},
        {"threads-keep-their-own-lines", check_threads_keep_their_own_lines},
        {"moved-buffer-gives-its-pages-back", check_moved_buffer_gives_its_pages_back},
    };
    size_t k = 0;
    while (k < sizeof own / sizeof own[0] && strcmp(argv[1], own[k].name) != 0) ++k;
    if (k == sizeof own / sizeof own[0]) {
      printf("unknown check %s\n", argv[1]);
      return 2;
    }
    own[k].run();
    if (failures == 0) printf("%s: passed\n", argv[1]);
    return failures == 0 ? 0 : 1;
  }
  /* The library is the one serving malloc here. */
  CHECK(dlsym(RTLD_DEFAULT, "pprsim_dm_group_init") != NULL);
  check_single_thread_reuse();
  check_growth_at_top();
  check_regrowth_reuses_the_top();
  check_phases_share_memory();
  check_api();
  check_threads();
  check_producer_consumer();
  check_fork_with_threads();
  check_ppr_hooks();
  if (failures == 0) printf("drop-in checks passed\n");
  return failures == 0 ? 0 : 1;
}
