// The tasks' allocators as the process that merges sees them, for ports of the project's cores
// whose bookkeeping crosses from the tasks as bytes (dmmalloc_port.cpp, comalloc_port.cpp): a
// copy per task rebuilt from its state, and the pointers merge() and learn() take.
#pragma once

#include <cstddef>
#include <vector>

namespace pprsim::port {

// Copies of the tasks' allocators: fresh() for each, then import(copy, state, size, k) where the
// task left a state. A task without one (it crashed) keeps its fresh copy, which merge reads
// only for an aborted task (whose share is as carved).
template <class Fresh, class Import>
auto task_copies(const void* const* states, const std::size_t* sizes, int ntasks, Fresh fresh, Import import) {
  std::vector<decltype(fresh())> copies;
  copies.reserve(static_cast<std::size_t>(ntasks));
  for (int k = 0; k < ntasks; ++k) {
    copies.push_back(fresh());
    if (states[k] != nullptr) import(copies.back(), states[k], sizes[k], static_cast<std::size_t>(k));
  }
  return copies;
}

template <class A>
std::vector<const A*> pointers(const std::vector<A>& copies) {
  std::vector<const A*> out;
  for (const A& c : copies) out.push_back(&c);
  return out;
}

}  // namespace pprsim::port
