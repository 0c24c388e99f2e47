// The oracle: checks a committed heap against the sequential reference.
//  - contents: every live object holds the bytes the trace's events put there;
//  - overlap: no two live objects share a byte;
//  - census: every byte of every system region is in exactly one live block, free block or
//    allocator overhead; every free block is on a free list exactly once; every live block
//    holds exactly one live object.
// A lost block is one no live object and no free list accounts for; a double allocation is a
// byte range handed out twice (two objects, an object in a free block, a block twice on the
// free lists, or a live block on a free list).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/content_model.h"
#include "sim/process.h"

namespace pprsim {

struct HeapCheck {
  std::uint64_t lost_blocks = 0;
  std::uint64_t lost_bytes = 0;
  std::uint64_t double_allocations = 0;
  std::uint64_t content_mismatches = 0;
  std::uint64_t live_objects = 0;
  std::uint64_t live_blocks = 0;
  std::uint64_t live_bytes = 0;
  std::uint64_t free_bytes = 0;
  std::uint64_t overhead_bytes = 0;
  std::vector<std::string> problems;  // the first few, one line each

  bool ok() const { return lost_blocks == 0 && double_allocations == 0 && content_mismatches == 0; }
};

// requires: p is not tracked (the oracle's reads are not the program's).
HeapCheck check_heap(Process& p, const ContentModel& model);

}  // namespace pprsim
