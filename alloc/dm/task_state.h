// A dmmalloc task's group state as bytes, for runtimes whose tasks are separate processes (the
// drop-in's pprsim_dm_task_state, the native engine's port of dmmalloc): what merge() and learn()
// read of a task's allocator, its own partition's lists, what it took per class, its deferred
// frees and the class whose partition ran dry, exported in the task and imported into a fresh
// copy in the process that merges. A caller's own 64-bit value rides along (the drop-in: how far
// the task used its slice). Definitions of DmMalloc's members; included at the end of
// alloc/dmmalloc.h, and only there.
#pragma once

#include <cstring>

namespace pprsim {

namespace dm {

inline constexpr std::uint64_t kStateMagic = 0x3245544154534D44ull;  // "DMSTATE2"

struct StateHeader {
  std::uint64_t magic;
  std::uint64_t classes;
  std::uint64_t serial;
  std::uint64_t task;
  std::int64_t rescue_class;
  std::uint64_t deferred;
  std::uint64_t extra;
};

}  // namespace dm

template <Memory Mem>
std::size_t DmMalloc<Mem>::export_task_state(void* buf, std::size_t cap, std::uint64_t extra) const {
  const std::size_t fixed = sizeof(dm::StateHeader) + sizeof(Lists) + sizeof(taken_);
  const std::size_t need = fixed + deferred_.size() * sizeof(Addr);
  if (buf == nullptr || cap < need) return need;
  const dm::StateHeader h{dm::kStateMagic, dm::kClasses, serial_, static_cast<std::uint64_t>(task_),
                          rescue_class_, deferred_.size(), extra};
  auto* out = static_cast<unsigned char*>(buf);
  std::memcpy(out, &h, sizeof h);
  out += sizeof h;
  std::memcpy(out, &mine_, sizeof(Lists));
  out += sizeof(Lists);
  std::memcpy(out, &taken_, sizeof(taken_));
  out += sizeof(taken_);
  if (!deferred_.empty()) std::memcpy(out, deferred_.data(), deferred_.size() * sizeof(Addr));
  return need;
}

template <Memory Mem>
bool DmMalloc<Mem>::import_task_state(const void* buf, std::size_t n, std::uint64_t serial, std::size_t k,
                                      std::uint64_t* extra) {
  const std::size_t fixed = sizeof(dm::StateHeader) + sizeof(Lists) + sizeof(taken_);
  if (buf == nullptr || n < fixed) return false;
  dm::StateHeader h;
  const auto* in = static_cast<const unsigned char*>(buf);
  std::memcpy(&h, in, sizeof h);
  if (h.magic != dm::kStateMagic || h.classes != dm::kClasses || h.serial != serial || h.task != k ||
      h.deferred > (n - fixed) / sizeof(Addr) || n != fixed + h.deferred * sizeof(Addr)) {
    return false;
  }
  in += sizeof h;
  std::memcpy(&mine_, in, sizeof(Lists));
  in += sizeof(Lists);
  std::memcpy(&taken_, in, sizeof(taken_));
  in += sizeof(taken_);
  deferred_.resize(h.deferred);
  if (h.deferred > 0) std::memcpy(deferred_.data(), in, h.deferred * sizeof(Addr));
  rescue_class_ = static_cast<int>(h.rescue_class);
  if (extra != nullptr) *extra = h.extra;
  return true;
}

}  // namespace pprsim
