#include "sim/object_table.h"

#include <algorithm>

namespace pprsim {

ObjectTable ObjectTable::child_of(const ObjectTable& parent) {
  ObjectTable t;
  t.parent_ = &parent;
  return t;
}

const Object* ObjectTable::find(std::int64_t id) const {
  const auto it = map_.find(id);
  if (it != map_.end()) return it->second ? &*it->second : nullptr;
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
  for (const auto& [id, o] : child.map_) {
    if (o) {
      set(id, *o);
    } else {
      erase(id);
    }
  }
}

std::vector<std::pair<std::int64_t, Object>> ObjectTable::by_address() const {
  std::vector<std::pair<std::int64_t, Object>> out;
  if (parent_ != nullptr) {
    for (const auto& e : parent_->by_address()) {
      if (map_.count(e.first) == 0) out.push_back(e);
    }
  }
  for (const auto& [id, o] : map_) {
    if (o) out.emplace_back(id, *o);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.second.addr != b.second.addr ? a.second.addr < b.second.addr : a.first < b.first;
  });
  return out;
}

std::size_t ObjectTable::size() const {
  if (parent_ == nullptr) return map_.size();
  return by_address().size();
}

}  // namespace pprsim
