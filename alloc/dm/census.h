// dmmalloc's census (alloc/census.h): the block walk of a system region, the walk of every free
// list, partition, kept region and the top, and what a heap address is, for conflict reports.
// They read the heap and change nothing. Definitions of DmMalloc's members, kept apart from the
// allocator's own paths; included at the end of alloc/dmmalloc.h, and only there (it needs the
// class, and includes nothing itself so that the two headers do not include each other).
#pragma once

namespace pprsim {

template <Memory Mem>
template <class Visit>
bool DmMalloc<Mem>::walk_region(Addr base, std::uint64_t size, Visit&& visit) {
  const std::uint64_t w = mem_->load64(base);
  if ((w & dm::kMagicMask) == dm::kMagic && (w & dm::kLarge) != 0) {
    if (mem_->load64(base + 8) != size) return corrupt(base, size, visit);
    if ((w & dm::kLive) == 0) {  // kept for reuse
      visit(BlockInfo{base, size, BlockInfo::Kind::Free, 0, 0, -1});
    } else {
      visit(BlockInfo{base, size, BlockInfo::Kind::Live, base + dm::kHeader, size - dm::kHeader, -1});
    }
    return true;
  }
  Addr a = base;
  const Addr end = base + size;
  while (a < end) {
    const std::uint64_t w0 = mem_->load64(a);
    if (w0 == (dm::kMagic | dm::kTop)) {  // the top runs to the end of its chunk
      if (mem_->load64(a + 8) != end - a) return corrupt(a, end - a, visit);
      visit(BlockInfo{a, end - a, BlockInfo::Kind::Free, 0, 0, -1});
      return true;
    }
    const std::uint64_t c = w0 & dm::kClassMask;
    if ((w0 & dm::kMagicMask) != dm::kMagic || (w0 & (dm::kLarge | dm::kShim)) != 0 ||
        c >= dm::kClasses || dm::class_size(static_cast<int>(c)) > end - a) {
      return corrupt(a, end - a, visit);
    }
    const std::uint64_t bs = dm::class_size(static_cast<int>(c));
    const bool live = (w0 & dm::kLive) != 0;
    visit(BlockInfo{a, bs, live ? BlockInfo::Kind::Live : BlockInfo::Kind::Free,
                    live ? a + dm::kHeader : 0, live ? bs - dm::kHeader : 0, static_cast<int>(c)});
    a += bs;
  }
  return true;
}

template <Memory Mem>
template <class Visit>
void DmMalloc<Mem>::walk_free(std::uint64_t max_steps, Visit&& visit) {
  auto walk = [&](const Lists& lists) {
    for (int c = 0; c < dm::kClasses; ++c) {
      Addr b = lists[ci(c)].head;
      for (std::uint64_t i = 0; b != 0 && i < max_steps; ++i) {
        visit(FreeEntry{b, c});
        b = mem_->load64(b + 8);
      }
    }
  };
  walk(global_);
  if (mode_ == Mode::Task) walk(mine_);
  // Inside a task its own partition is mine_ as the task changed it: carve_'s copy is stale
  // (its links lead through blocks the task has handed out since).
  for (std::size_t k = 0; k < carve_.size(); ++k) {
    if (mode_ != Mode::Task || static_cast<int>(k) != task_) walk(carve_[k]);
  }
  for (int i = 0; i < kept_.count(); ++i) visit(FreeEntry{kept_[i].base, -1});
  if (top_ != 0) visit(FreeEntry{top_, -1});
}

template <Memory Mem>
std::string DmMalloc<Mem>::describe(Addr base, std::uint64_t size, Addr a) {
  std::string out;
  walk_region(base, size, [&](const BlockInfo& b) {
    if (a < b.start || a >= b.start + b.size) return;
    const std::uint64_t off = a - b.start;
    if (b.kind == BlockInfo::Kind::Corrupt) {
      out = fmt::format("corrupt heap bytes at {:#x}", b.start);
    } else if (b.size_class < 0 && b.kind == BlockInfo::Kind::Free && b.start == top_) {
      out = fmt::format("unused top of the heap at {:#x}", b.start);
    } else if (b.size_class < 0 && b.kind == BlockInfo::Kind::Free) {
      out = fmt::format("freed large-object region kept for reuse at {:#x}", b.start);
    } else if (b.size_class < 0) {
      out = off < dm::kHeader ? fmt::format("large-object header at {:#x}", b.start)
                              : fmt::format("payload of large object at {:#x}", b.start);
    } else if (off < 8) {
      out = fmt::format("size class {} ({} B) size/flags word in block header at {:#x}",
                        b.size_class, b.size, b.start);
    } else if (off < dm::kHeader) {
      out = b.kind == BlockInfo::Kind::Free
                ? fmt::format("size class {} ({} B) free-list link in block header at {:#x}",
                              b.size_class, b.size, b.start)
                : fmt::format("size class {} ({} B) owner tag in block header at {:#x}",
                              b.size_class, b.size, b.start);
    } else {
      out = fmt::format("payload of {} size class {} ({} B) block at {:#x}",
                        b.kind == BlockInfo::Kind::Free ? "free" : "live", b.size_class, b.size,
                        b.start);
    }
  });
  if (out.empty()) out = fmt::format("allocator memory at {:#x}", a);
  return out;
}

}  // namespace pprsim
