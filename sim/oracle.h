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
#include <utility>
#include <vector>

#include "sim/content_model.h"
#include "sim/findings.h"
#include "sim/process.h"
#include "traces/id_map.h"

namespace pprsim {

struct HeapCheck {
  Findings findings;  // lost blocks, double allocations, overlaps, content mismatches
  std::uint64_t lost_bytes = 0;
  std::uint64_t live_objects = 0;
  std::uint64_t live_blocks = 0;
  std::uint64_t live_bytes = 0;
  std::uint64_t free_bytes = 0;
  std::uint64_t overhead_bytes = 0;
  struct Block {
    Addr start = 0;
    std::uint64_t size = 0;
  };
  static constexpr std::size_t kMaxLost = 64;
  std::vector<Block> lost;  // the first kMaxLost lost blocks (the region walk's gaps are counted only)

  bool ok() const { return !findings.falsified(); }
};

// The full check: contents of every live object, overlap, and the census of every region and
// free list. O(heap).
HeapCheck check_heap(Process& p, const ContentModel& model);

// The census alone (no contents, no overlap): the lost blocks and double allocations the block
// walks and free lists show. Any time, even halfway through a group. O(heap).
HeapCheck check_census(Process& p);

// The oracle across a run. Between full checks it checks what changed, in time proportional to
// the change: every object the trace touched since the last check (created, moved, resized,
// freed, written: its whole contents against the reference, its address neighbours for
// overlap, freed objects gone) and every live object on a page the process wrote since then
// (its bytes on that page: whatever the allocator wrote into an object's payload shows), but
// for a page inside one touched object: any other object there overlaps that one. The
// block census (lost blocks, free lists) needs the whole heap: it runs in full checks only.
class HeapOracle {
 public:
  // The trace changed (or used) object `id` since the last check.
  void touch(std::int64_t id) { touched_.push_back(id); }

  HeapCheck check_changes(Process& p, const ContentModel& model);
  // The live objects of `p` by (address, id), brought up to date with what was touched (the
  // checks still see those objects as changed).
  const AddressIndex& index(Process& p) {
    update_index(p);
    return index_;
  }
  HeapCheck check_all(Process& p, const ContentModel& model);

 private:
  void update_index(Process& p);
  std::vector<std::pair<std::int64_t, Object>> live_by_address(Process& p);

  // Where index_ has an object, to find its entry when the object moves, grows or goes.
  struct Placed {
    Addr addr = 0;
    std::uint64_t size = 0;
  };
  AddressIndex index_;  // live objects by address
  IdMap<Placed> where_;  // id -> its entry in index_
  std::vector<std::int64_t> touched_;
};

}  // namespace pprsim
