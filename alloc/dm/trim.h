// dmmalloc's trim (alloc/dmmalloc.h): free memory given back to the system while the heap is
// not growing. The join (alloc/dm/join.h) and the idling of large free blocks
// (DmMalloc::idle_free_blocks) ran only when the heap was about to grow, so a program that
// built a large structure and freed it kept all of it resident for the rest of its run: 2,000
// objects of 100 KB freed left 207 MB resident through the drop-in, against glibc's 0.1 MB
// (glibc gives back the top of its heap as soon as it is free).
//
// trim() joins free neighbours (over the whole heap, when that is worth its walks: below),
// gives back the pages of each joined run, of the large free blocks (when there are more than
// the Memory may keep, Memory::idle_keep) and of the top past its header. Its caller (the
// drop-in, when a thread with no others holds much free memory in its cache) asks trim_due
// first: a trim follows an eighth of the heap (at least dm::kTrimFrom) freed since the last one,
// and joins only when free memory is at least half the heap, so its chunk walk covers at most
// twice the memory it may give back. Definitions of DmMalloc's members; included at the end of alloc/dmmalloc.h,
// and only there.
#pragma once

namespace pprsim {

template <Memory Mem>
bool DmMalloc<Mem>::trim_due(std::uint64_t more) {
  if (mode_ != Mode::Seq || !carve_.empty() || chunks_mapped_ == 0) return false;
  const std::uint64_t listed = listed_bytes();
  trim_floor_ = std::min(trim_floor_, listed);  // the program took blocks back since
  const std::uint64_t heap = chunks_mapped_ * dm::kTopBlock;
  return listed + more >= trim_floor_ + std::max(dm::kTrimFrom << trim_backoff_, heap / 8);
}

template <Memory Mem>
void DmMalloc<Mem>::trim() {
  if (mode_ != Mode::Seq || !carve_.empty()) return;
  // What the last trim gave back was taken again: the program frees and reuses this much in
  // turn (a replay's passes, a phase built and dropped again and again), and every trim would
  // cost it the page faults of all it reuses. The next trim waits for twice as much.
  if (trim_floor_ + dm::kTrimFrom / 2 <= trim_left_ && trim_backoff_ < dm::kTrimBackoffs) ++trim_backoff_;
  // Joining walks every chunk, header by header, and every listed block, in list order (a cache
  // miss each): worth it only when free memory is much of the heap and lies in few blocks (a
  // structure of kilobyte objects built and dropped whole). perl freeing a hash of 400,000
  // short strings at its end spent 0.3 s in one such join (1.60 s against 1.06 s in all), to
  // give back blocks smaller than a page.
  std::uint64_t blocks = 0;
  for (int c = 0; c < dm::kClasses; ++c) blocks += global_[ci(c)].count;
  const std::uint64_t listed = listed_bytes();
  if (listed >= chunks_mapped_ * dm::kTopBlock / 2 && blocks * dm::kTrimJoinBlock <= listed) join_free_blocks(true);
  idle_free_blocks();
  if (top_ != 0) idle_pages(top_, top_end_);  // a join may have given written pages back to the top
  trim_floor_ = trim_left_ = listed_bytes();
}

}  // namespace pprsim
