// The program's view of its live objects: trace id -> address, size and the line that created
// it. A forked process holds only its changes on top of its parent's table, so a fork costs
// nothing and a commit applies the changes of each committed task in order.
#pragma once

#include <absl/container/btree_map.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "alloc/memory.h"
#include "traces/id_map.h"

namespace pprsim {

struct Object {
  Addr addr = 0;
  std::uint64_t size = 0;
  std::uint32_t born_line = 0;  // the event that created this incarnation (alloc or moving realloc)
  std::uint64_t usable = 0;     // usable_size when the event ran: bytes the allocator may touch for it
  friend bool operator==(const Object&, const Object&) = default;
};

// Live objects by (address, id), each with its size: what the oracle keeps up to date between
// checks, so that an object's neighbours are known without looking them up by id. A B-tree
// (ordered, so deterministic): the std::set it replaced spent a node allocation per entry and a
// pointer chase per step of the full check's walk over every live object. Iterators do not
// survive an insertion or an erasure.
using AddressIndex = absl::btree_map<std::pair<Addr, std::int64_t>, std::uint64_t>;

class ObjectTable {
 public:
  ObjectTable() = default;

  // This table becomes an empty table of changes over `parent` (a root table when null),
  // keeping its storage. requires: parent outlives this table.
  void reset(const ObjectTable* parent);

  const Object* find(std::int64_t id) const;
  void set(std::int64_t id, const Object& o);
  void erase(std::int64_t id);

  // Applies a child's changes to this table (the child's parent must be this table).
  void apply(const ObjectTable& child);

  // Every live object, sorted by address then id (deterministic).
  std::vector<std::pair<std::int64_t, Object>> by_address() const;
  std::size_t size() const;
  // The live objects' bytes, summed.
  std::uint64_t bytes() const;

 private:
  const ObjectTable* parent_ = nullptr;
  // Root: every entry has a value. Child: nullopt marks an object erased since the fork.
  IdMap<std::optional<Object>> map_;
};

}  // namespace pprsim
