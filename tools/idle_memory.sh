#!/usr/bin/env bash
# Idle memory after a burst of frees, under the dmmalloc drop-in against glibc, jemalloc,
# mimalloc and tcmalloc (Debian's packages, preloaded when installed; a missing one is skipped).
# For each case a small C program allocates COUNT objects of SIZE bytes, writes each whole,
# frees them all, then allocates and frees a few small ones; it prints the resident growth over
# its start (from /proc/self/statm) at that point: the memory the allocator kept.
# Usage: bash tools/idle_memory.sh   (needs build/libpprsim_dmmalloc.so, or the library named by
# PPRSIM_DMMALLOC_LIB; PPRSIM_DMMALLOC_BEFORE=LIB adds a column "before" for another build of it)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/preloads.sh
find_preloads idle_memory dropin

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/burst.c" <<'C'
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
int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const long count = atol(argv[1]);
  const size_t size = (size_t)atol(argv[2]);
  void** p = malloc((size_t)count * sizeof(void*));
  if (p == NULL) return 1;
  memset(p, 0, (size_t)count * sizeof(void*));
  const long start = resident_kib();
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
  printf("%ld\n", resident_kib() - start);
  return 0;
}
C
gcc -O2 -o "$work/burst" "$work/burst.c"

printf '%-22s' "objects freed"
for a in "${order[@]}"; do printf '%10s' "$a"; done
printf '\n'
for c in "2000 102400" "20000 10000" "1000000 100" "200 1048576"; do
  set -- $c
  printf '%-22s' "$(printf "%'d x %'d B" "$1" "$2")"
  for a in "${order[@]}"; do
    kib=$(LD_PRELOAD=${preload[$a]} "$work/burst" "$1" "$2")
    printf '%10s' "$(awk -v k="$kib" 'BEGIN { printf (k < 1024 ? "%.0fK" : "%.1fM"), (k < 1024 ? k : k / 1024) }')"
  done
  printf '\n'
done
echo "(resident growth after the frees, over the program's start)"
