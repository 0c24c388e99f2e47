#include "sim/host_malloc.h"

#include <malloc.h>

namespace pprsim {

void keep_host_memory() {
#if defined(__GLIBC__)
  // Fixing the mapping threshold ends glibc's adaptive one, which would otherwise also keep
  // the trim threshold low: both are set.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
#endif
}

}  // namespace pprsim
