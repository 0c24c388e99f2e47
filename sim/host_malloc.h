// The host malloc under the simulator. A replay allocates and frees page buffers, tree nodes,
// access logs and object tables at every group; glibc's defaults hand the memory back to the
// system and fault it in again. Tuning the host allocator changes no result of a run, only its
// speed.
#pragma once

namespace pprsim {

// Keeps freed memory in the process: no trimming of the heap below 1 GiB of free top, 64 MiB
// of headroom per heap extension, and blocks under 32 MiB taken from the heap, not mapped one
// by one. Call once, before the simulator runs, and never in a process that measures glibc
// itself (`pprsim bench`'s native children).
void keep_host_memory();

}  // namespace pprsim
