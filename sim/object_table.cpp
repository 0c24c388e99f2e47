#include "sim/object_table.h"

#include <algorithm>

namespace pprsim {

void ObjectTable::reset(const ObjectTable* parent) {
  map_.clear();
  parent_ = parent;
}

const Object* ObjectTable::find(std::int64_t id) const {
  if (const std::optional<Object>* o = map_.find(id)) return *o ? &**o : nullptr;
  return parent_ != nullptr ? parent_->find(id) : nullptr;
}

void ObjectTable::set(std::int64_t id, const Object& o) { map_[id] = o; }

void ObjectTable::erase(std::int64_t id) {
  if (parent_ == nullptr) {
    map_.erase(id);
  } else {
    map_[id] = std::nullopt;
  }
}

void ObjectTable::apply(const ObjectTable& child) {
  child.map_.for_each([&](std::int64_t id, const std::optional<Object>& o) {
    if (o) {
      set(id, *o);
    } else {
      erase(id);
    }
  });
}

std::vector<std::pair<std::int64_t, Object>> ObjectTable::by_address() const {
  // Sorted as small keys pointing at the objects, then copied out in order: sorting the
  // 48-byte entries themselves was most of a full heap check on a heap of small objects.
  struct Key {
    Addr addr;
    std::int64_t id;
    const Object* o;
  };
  std::vector<Key> keys;
  keys.reserve(map_.size());
  std::vector<std::pair<std::int64_t, Object>> inherited;
  if (parent_ != nullptr) {
    inherited = parent_->by_address();
    for (const auto& [id, o] : inherited) {
      if (!map_.contains(id)) keys.push_back({o.addr, id, &o});
    }
  }
  map_.for_each([&](std::int64_t id, const std::optional<Object>& o) {
    if (o) keys.push_back({o->addr, id, &*o});
  });
  std::sort(keys.begin(), keys.end(),
            [](const Key& a, const Key& b) { return a.addr != b.addr ? a.addr < b.addr : a.id < b.id; });
  std::vector<std::pair<std::int64_t, Object>> out;
  out.reserve(keys.size());
  for (const Key& k : keys) out.emplace_back(k.id, *k.o);
  return out;
}

std::uint64_t ObjectTable::bytes() const {
  std::uint64_t n = 0;
  if (parent_ != nullptr) {
    for (const auto& [id, o] : by_address()) n += o.size;
    return n;
  }
  map_.for_each([&](std::int64_t, const std::optional<Object>& o) { n += o ? o->size : 0; });
  return n;
}

std::size_t ObjectTable::size() const {
  if (parent_ == nullptr) return map_.size();
  return by_address().size();
}

}  // namespace pprsim
