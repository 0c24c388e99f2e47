// The commit check between two tasks of a group, and the classification of what it finds.
// For an earlier task i and a later task k:
//  - raw: bytes k read (before writing them itself) that i wrote: k must abort;
//  - waw: bytes both wrote. Between two views of the same object (or a handle slot) that is the
//    ordinary write-after-write the ordered commit resolves, not a conflict; anywhere else it
//    is allocator-induced (a block handed to both, metadata both changed).
// A true dependence is a raw on program data: a handle slot, or bytes of an object that both
// tasks hold as the same object. Everything else is allocator-induced.
#pragma once

#include <cstdint>
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

// Objects live at the fork, sorted by address (ObjectTable::by_address of the parent).
using ObjectList = std::vector<std::pair<std::int64_t, Object>>;

// The parent's objects at the fork, sorted by address when first asked for: only a byte both
// tasks touched needs them, so a group without such bytes never pays O(live objects).
// requires: the table outlives this and does not change while it is used.
class ForkObjects {
 public:
  explicit ForkObjects(const ObjectTable& parent) : parent_(&parent) {}
  const ObjectList& get() const {
    if (!built_) {
      list_ = parent_->by_address();
      built_ = true;
    }
    return list_;
  }

 private:
  const ObjectTable* parent_;
  mutable ObjectList list_;
  mutable bool built_ = false;
};

// Conflicts of task k against the earlier task i, in address order.
// requires: both processes have access logs.
std::vector<Conflict> find_conflicts(int group, int i, const TaskView& earlier, int k,
                                     const TaskView& later, const ForkObjects& at_fork);

}  // namespace pprsim
