#!/usr/bin/env bash
# Idle memory after a burst of frees, under the dmmalloc drop-in against glibc, jemalloc,
# mimalloc and tcmalloc (Debian's packages, preloaded when installed; a missing one is skipped).
# For each case a small C program allocates COUNT objects of SIZE bytes, writes each whole,
# frees them all, then allocates and frees a few small ones; it prints the resident growth over
# its start (from /proc/self/statm) at that point: the memory the allocator kept. The rows
# marked "threads" run the same burst in a second thread (the main thread waits for it), as a
# program with threads would: an allocator may treat a process with threads differently.
# Usage: bash tools/idle_memory.sh   (needs build/libpprsim_dmmalloc.so, or the library named by
# PPRSIM_DMMALLOC_LIB; PPRSIM_DMMALLOC_BEFORE=LIB adds a column "before" for another build of it)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/preloads.sh
find_preloads idle_memory dropin

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/burst.c" <<'C'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static long resident_kib(void) {
  FILE* f = fopen("/proc/self/statm", "r");
  long size = 0, pages = 0;
  if (f == NULL || fscanf(f, "%ld %ld", &size, &pages) != 2) return -1;
  fclose(f);
  return pages * 4;
}
static long count;
static size_t size;
static void** p;
static int burst(void) {
  for (long i = 0; i < count; ++i) {
    p[i] = malloc(size);
    if (p[i] == NULL) return 1;
    memset(p[i], 1, size);
  }
  for (long i = 0; i < count; ++i) free(p[i]);
  for (int i = 0; i < 1000; ++i) {
    char* q = malloc(64);
    if (q == NULL) return 1;
    memset(q, 2, 64);
    free(q);
  }
  return 0;
}
static void* burst_thread(void* status) {
  *(int*)status = burst();
  return NULL;
}
int main(int argc, char** argv) {
  if (argc != 4) return 2;
  count = atol(argv[1]);
  size = (size_t)atol(argv[2]);
  p = malloc((size_t)count * sizeof(void*));
  if (p == NULL) return 1;
  memset(p, 0, (size_t)count * sizeof(void*));
  const long start = resident_kib();
  int status = 0;
  if (strcmp(argv[3], "threads") == 0) {
    pthread_t t;
    if (pthread_create(&t, NULL, burst_thread, &status) != 0 || pthread_join(t, NULL) != 0) return 1;
  } else {
    status = burst();
  }
  if (status != 0) return 1;
  printf("%ld\n", resident_kib() - start);
  return 0;
}
C
gcc -O2 -pthread -o "$work/burst" "$work/burst.c"

printf '%-30s' "objects freed"
for a in "${order[@]}"; do printf '%10s' "$a"; done
printf '\n'
for c in "2000 102400 one" "20000 10000 one" "1000000 100 one" "200 1048576 one" \
         "2000 102400 threads" "20000 10000 threads"; do
  set -- $c
  label=$(printf "%'d x %'d B" "$1" "$2")
  [ "$3" = threads ] && label="$label, threads"
  printf '%-30s' "$label"
  for a in "${order[@]}"; do
    kib=$(LD_PRELOAD=${preload[$a]} "$work/burst" "$1" "$2" "$3")
    printf '%10s' "$(awk -v k="$kib" 'BEGIN { printf (k < 1024 ? "%.0fK" : "%.1fM"), (k < 1024 ? k : k / 1024) }')"
  done
  printf '\n'
done
echo "(resident growth after the frees, over the program's start)"
