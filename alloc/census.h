// What an allocator tells the oracle about its memory: the blocks of one system region in
// address order, and the blocks its free lists reach. The oracle checks both against the
// replay's own record of live objects and the system-memory provider's record of regions.
#pragma once

#include <cstdint>
#include <string>

#include "alloc/memory.h"

namespace pprsim {

struct BlockInfo {
  enum class Kind : std::uint8_t {
    Live,     // handed out: header and slack are overhead, [payload, payload+usable) is the object's
    Free,     // on (or supposed to be on) a free list
    Corrupt,  // the walk met bytes that are no valid header; [start, start+size) is unaccounted
  };
  Addr start = 0;
  std::uint64_t size = 0;  // whole block, header included
  Kind kind = Kind::Corrupt;
  Addr payload = 0;         // Live: the address returned to the program
  std::uint64_t usable = 0;  // Live: usable_size(payload)
  int size_class = -1;      // -1: no class (large object, or corrupt)
};

// One entry reached by walking a free list.
struct FreeEntry {
  Addr block = 0;
  int size_class = -1;
};

}  // namespace pprsim
