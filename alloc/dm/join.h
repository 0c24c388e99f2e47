// dmmalloc's join of free neighbours (alloc/dmmalloc.h): blocks are never joined when they are
// freed (a task's partition is a set of whole blocks, and a free that looked at its neighbours
// would read memory another task owns), so memory freed as small blocks could only ever serve
// their classes again. A program whose sizes change over its run (python3 building a dict and
// then its JSON text) left the blocks of its first phase on their lists while the heap grew for
// the second: 68 MB resident against glibc's 49 MB over the same allocations.
//
// So outside groups, when the heap would grow while the shared lists hold much free memory,
// every run of neighbouring listed blocks in a chunk becomes one free stretch, tiled again into
// the largest classes (a stretch that ends at the top goes back into it). Only shared-list
// blocks join, marked first (dm::kJoin): a free header that is not marked belongs to a block a
// drop-in thread cache holds. Definitions of DmMalloc's members; included at the end of
// alloc/dmmalloc.h, and only there (it needs the class, and includes nothing itself so that the
// two headers do not include each other).
#pragma once

namespace pprsim {

template <Memory Mem>
std::uint64_t DmMalloc<Mem>::listed_bytes() const {
  std::uint64_t bytes = 0;
  for (int c = 0; c < dm::kClasses; ++c) bytes += global_[ci(c)].count * dm::class_size(c);
  return bytes;
}

// Worth a walk when the lists hold a chunk's worth of memory, and an eighth of the heap, more
// than the last join left: each join then follows at least heap / 8 bytes of frees, and walks
// the lists (at most heap / 32 blocks) and at most dm::kJoinChunks chunks, so the walks cost a
// bounded number of header reads per byte freed.
template <Memory Mem>
bool DmMalloc<Mem>::join_due(std::uint64_t more) const {
  if (mode_ != Mode::Seq || !carve_.empty() || chunks_mapped_ == 0) return false;
  const std::uint64_t heap = chunks_mapped_ * dm::kTopBlock;
  return listed_bytes() + more >= join_floor_ + std::max(dm::kTopBlock, heap / 8);
}

template <Memory Mem>
bool DmMalloc<Mem>::join_free_blocks(bool trimming) {
  auto each_listed = [&](auto&& visit) {
    for (int c = 0; c < dm::kClasses; ++c) {
      Addr b = global_[ci(c)].head;
      for (std::uint64_t i = 0; i < global_[ci(c)].count; ++i) {
        visit(b);
        b = mem_->load64(b + 8);
      }
    }
  };
  // 1. Mark every block on a shared list.
  each_listed([&](Addr b) { mem_->store64(b, mem_->load64(b) | dm::kJoin); });
  // 2. Walk each chunk's blocks in address order. A run of two or more marked neighbours, or of
  // one that ends where the top begins, is joined: its blocks are marked kJoined, and its first
  // block (free, its payload the allocator's) keeps the run's length at +16 and the previous
  // run's start at +24. A header that is no block's (a program wrote over it) ends that chunk's
  // walk: nothing beyond it is touched.
  constexpr std::uint64_t kMarks = dm::kJoin | dm::kJoined | dm::kIdle;
  auto block_size = [](std::uint64_t w0) -> std::uint64_t {
    if ((w0 & dm::kMagicMask) != dm::kMagic || (w0 & (dm::kLarge | dm::kShim | dm::kTop)) != 0) return 0;
    const std::uint64_t c = w0 & dm::kClassMask;
    return c < dm::kClasses ? dm::class_size(static_cast<int>(c)) : 0;
  };
  Addr runs = 0;
  auto walk_chunk = [&](const Addr base) {
    const Addr end = base + dm::kTopBlock;
    Addr run = 0;
    std::uint64_t run_blocks = 0;
    auto close_run = [&](Addr at) {
      if (run != 0 && (run_blocks >= 2 || (at == top_ && top_ != 0))) {
        for (Addr b = run; b < at;) {
          const std::uint64_t w0 = mem_->load64(b);
          mem_->store64(b, w0 | dm::kJoined);
          b += block_size(w0 & ~kMarks);
        }
        mem_->store64(run + 16, at - run);
        mem_->store64(run + 24, runs);
        runs = run;
      }
      run = 0;
      run_blocks = 0;
    };
    for (Addr a = base; a < end;) {
      const std::uint64_t w0 = mem_->load64(a);
      const std::uint64_t size = block_size(w0 & ~(kMarks | dm::kGrown));
      if (size == 0 || size > end - a) {  // the top, or no block: the walk of this chunk ends
        close_run(a);
        break;
      }
      if ((w0 & (dm::kJoin | dm::kLive)) == dm::kJoin) {
        if (run == 0) run = a;
        ++run_blocks;
      } else {
        close_run(a);
      }
      a += size;
      if (a == end) close_run(a);
    }
  };
  // The chunks in the order they were mapped; before the heap grows, the newest
  // dm::kJoinChunks only (the oldest are passed over).
  const std::uint64_t spans = std::min<std::uint64_t>(spans_, dm::kJoinSpans);
  auto span = [&](std::uint64_t k) { return span_ring_[static_cast<std::size_t>((spans_ - spans + k) % dm::kJoinSpans)]; };
  std::uint64_t skip = 0;
  if (!trimming) {
    std::uint64_t chunks = 0;
    for (std::uint64_t k = 0; k < spans; ++k) chunks += span(k).chunks;
    skip = chunks > dm::kJoinChunks ? chunks - dm::kJoinChunks : 0;
  }
  for (std::uint64_t k = 0; k < spans; ++k) {
    const ChunkSpan s = span(k);
    const std::uint64_t from = std::min(skip, s.chunks);
    skip -= from;
    for (std::uint64_t j = from; j < s.chunks; ++j) walk_chunk(s.base + (s.down ? s.chunks - 1 - j : j) * dm::kTopBlock);
  }
  if (runs == 0) {  // nothing to join: only the marks go
    each_listed([&](Addr b) { mem_->store64(b, mem_->load64(b) & ~dm::kJoin); });
    join_floor_ = listed_bytes();
    return false;
  }
  // 3. The shared lists without the joined blocks, in their order, the marks cleared.
  for (int c = 0; c < dm::kClasses; ++c) {
    List& l = global_[ci(c)];
    List kept{};
    Addr b = l.head;
    for (std::uint64_t i = 0; i < l.count; ++i) {
      const std::uint64_t w0 = mem_->load64(b);
      const Addr next = mem_->load64(b + 8);
      if ((w0 & dm::kJoined) == 0) {
        mem_->store64(b, w0 & ~dm::kJoin);
        if (kept.tail != 0) mem_->store64(kept.tail + 8, b);
        if (kept.head == 0) kept.head = b;
        kept.tail = b;
        ++kept.count;
      }
      b = next;
    }
    if (kept.tail != 0) mem_->store64(kept.tail + 8, 0);
    l = kept;
  }
  // 4. Each run back into the top when it ends there, else onto the lists as the largest
  // blocks it holds.
  while (runs != 0) {
    const Addr run = runs;
    const std::uint64_t bytes = mem_->load64(run + 16);
    runs = mem_->load64(run + 24);
    if (run + bytes == top_ && top_ != 0) {
      top_ = run;
      mem_->store64(top_, dm::kMagic | dm::kTop);
      mem_->store64(top_ + 8, top_end_ - top_);
    } else {
      if (trimming) idle_pages(run, run + bytes);  // tile's headers fault a few in again
      tile(global_, run, bytes);
    }
  }
  join_floor_ = listed_bytes();
  return true;
}

}  // namespace pprsim
