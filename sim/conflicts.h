// The commit check between two tasks of a group, and the classification of what it finds.
// For an earlier task i and a later task k:
//  - raw: bytes k read (before writing them itself) that i wrote: k must abort;
//  - waw: bytes both wrote. Between two views of the same object (or a handle slot) that is the
//    ordinary write-after-write the ordered commit resolves, not a conflict; anywhere else it
//    is allocator-induced (a block handed to both, metadata both changed).
// A true dependence is a raw on program data: a handle slot, or bytes of an object that both
// tasks hold as the same object. Everything else is allocator-induced.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "sim/object_table.h"
#include "sim/process.h"

namespace pprsim {

struct Conflict {
  enum class Kind : std::uint8_t { Raw, Waw };
  enum class Class : std::uint8_t { AllocatorInduced, TrueDependence };
  int group = 0;
  int first_task = 0;   // spec_order of the writer
  int second_task = 0;  // spec_order of the reader (raw) or the later writer (waw)
  Kind kind = Kind::Raw;
  Class cls = Class::TrueDependence;
  Addr addr = 0;
  std::uint64_t len = 0;
  std::string what;
  std::uint32_t first_line = 0;
  std::uint32_t second_line = 0;
};

std::string_view kind_name(Conflict::Kind k);
std::string_view class_name(Conflict::Class c);

// What one task saw: its process (with its access log) and the objects it created.
struct TaskView {
  Process* proc = nullptr;
  std::vector<std::pair<std::int64_t, Object>> created;
};

// Objects sorted by address (ObjectTable::by_address, or a task's created objects sorted so).
using ObjectList = std::vector<std::pair<std::int64_t, Object>>;

// The first object of `list` that starts above x.
inline ObjectList::const_iterator first_after(const ObjectList& list, Addr x) {
  return std::upper_bound(list.begin(), list.end(), x, [](Addr v, const auto& e) { return v < e.second.addr; });
}

// Calls visit(id, object) for the objects of `list` that start at or before x, nearest first,
// at most n of them.
template <class Visit>
void objects_before(const ObjectList& list, Addr x, int n, Visit&& visit) {
  auto it = first_after(list, x);
  for (int steps = 0; it != list.begin() && steps < n; ++steps) {
    --it;
    visit(it->first, it->second);
  }
}

// The lowest address above x at which an object of `list` starts, or the highest address when
// none does: objects_before visits the same objects for every address from x up to it.
inline Addr next_start(const ObjectList& list, Addr x) {
  const auto it = first_after(list, x);
  return it == list.end() ? std::numeric_limits<Addr>::max() : it->second.addr;
}

// The parent's objects at the fork, by address. Either from an index the caller keeps of the
// table's live objects by (address, id) (the replay's oracle keeps one: a lookup costs
// O(log n)), or from the table itself, sorted when first asked for (O(n log n) once per group
// with conflicts: fine for a test's small heap, not for a replay's large one).
// requires: the table (and the index) outlive this and do not change while it is used.
class ForkObjects {
 public:
  explicit ForkObjects(const ObjectTable& parent) : parent_(&parent) {}
  // requires: `by_address` holds exactly the table's live objects.
  ForkObjects(const ObjectTable& parent, const AddressIndex& by_address) : parent_(&parent), index_(&by_address) {}

  // Calls visit(id, object) for the objects that start at or before x, nearest first (by
  // address, then by id from the highest), at most n of them.
  template <class Visit>
  void before(Addr x, int n, Visit&& visit) const {
    if (index_ != nullptr) {
      auto it = index_->upper_bound({x, std::numeric_limits<std::int64_t>::max()});
      for (int steps = 0; it != index_->begin() && steps < n; ++steps) {
        --it;
        const std::int64_t id = it->first.second;
        if (const Object* o = parent_->find(id)) visit(id, *o);
      }
      return;
    }
    objects_before(list(), x, n, visit);
  }

  // The lowest address above x at which an object starts (the highest address when none):
  // before() answers the same for every address from x up to it.
  Addr next_start(Addr x) const {
    if (index_ != nullptr) {
      const auto it = index_->upper_bound({x, std::numeric_limits<std::int64_t>::max()});
      return it == index_->end() ? std::numeric_limits<Addr>::max() : it->first.first;
    }
    return pprsim::next_start(list(), x);
  }

 private:
  const ObjectList& list() const {
    if (!built_) {
      list_ = parent_->by_address();
      built_ = true;
    }
    return list_;
  }

  const ObjectTable* parent_;
  const AddressIndex* index_ = nullptr;
  mutable ObjectList list_;
  mutable bool built_ = false;
};

// Conflicts of task k against the earlier task i, in address order.
// requires: both processes have access logs.
std::vector<Conflict> find_conflicts(int group, int i, const TaskView& earlier, int k,
                                     const TaskView& later, const ForkObjects& at_fork);

}  // namespace pprsim
