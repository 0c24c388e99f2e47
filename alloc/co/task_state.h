// A comalloc task's group state as bytes, for runtimes whose tasks are separate processes (the
// native engine's port of comalloc, native/examples/comalloc_port.cpp): what merge() and learn()
// read of a task's allocator (its private heap's and its growth heap's bookkeeping, its deferred
// frees, what it needed when it gave up), exported in the task and imported into a fresh copy in
// the process that merges. The heaps' chunks are in the heap's memory, which the runtime commits
// itself. Definitions of CoMalloc's and DlHeap's members; included at the end of
// alloc/comalloc.h, and only there.
#pragma once

#include "alloc/co/state_bytes.h"

namespace pprsim {

namespace co {
inline constexpr std::uint64_t kStateMagic = 0x3145544154534F43ull;  // "COSTATE1"
}  // namespace co

template <Memory Mem>
void DlHeap<Mem>::export_state(co::StateWriter& w) const {
  w.put(arena_);
  w.put(private_);
  w.put(start_);
  w.put(limit_);
  w.put(top_);
  w.put(top_size_);
  w.put(bins_);
  w.put(bitmap_);
  w.put_vector(segments_);
  w.put(footprint_);
  w.put(obtained_);
  w.put(peak_used_);
  w.put(slice_);
  w.put(slice_growth_);
  w.put_vector(directs_);
  w.put(live_);
  w.put(invalid_frees_);
}

template <Memory Mem>
bool DlHeap<Mem>::import_state(co::StateReader& r) {
  return r.get(arena_) && r.get(private_) && r.get(start_) && r.get(limit_) && r.get(top_) && r.get(top_size_) &&
         r.get(bins_) && r.get(bitmap_) && r.get_vector(segments_) && r.get(footprint_) && r.get(obtained_) &&
         r.get(peak_used_) && r.get(slice_) && r.get(slice_growth_) && r.get_vector(directs_) && r.get(live_) &&
         r.get(invalid_frees_);
}

template <Memory Mem>
std::size_t CoMalloc<Mem>::export_task_state(void* buf, std::size_t cap) const {
  const auto put_all = [this](co::StateWriter& w) {
    w.put(co::kStateMagic);
    w.put(static_cast<std::int64_t>(task_));
    w.put(gave_up_);
    w.put(need_);
    w.put(task_bytes_);
    w.put(invalid_frees_);
    w.put_vector(deferred_);
    priv_.export_state(w);
    growth_.export_state(w);
  };
  co::StateWriter count(nullptr, 0);
  put_all(count);
  if (buf == nullptr || cap < count.size()) return count.size();  // nothing written
  co::StateWriter w(buf, cap);
  put_all(w);
  return w.size();
}

template <Memory Mem>
bool CoMalloc<Mem>::import_task_state(const void* buf, std::size_t n, std::size_t k) {
  co::StateReader r(buf, n);
  std::uint64_t magic = 0;
  std::int64_t task = -1;
  if (!r.get(magic) || magic != co::kStateMagic || !r.get(task) || task != static_cast<std::int64_t>(k)) return false;
  const bool ok = r.get(gave_up_) && r.get(need_) && r.get(task_bytes_) && r.get(invalid_frees_) &&
                  r.get_vector(deferred_) && priv_.import_state(r) && growth_.import_state(r) && r.complete();
  if (!ok) return false;
  task_ = static_cast<int>(task);
  mode_ = Mode::Task;
  return true;
}

}  // namespace pprsim
