#include "sim/content_model.h"

#include <algorithm>

namespace pprsim {

void ContentModel::apply(const Event& e) {
  switch (e.op) {
    case Op::Malloc:
    case Op::Memalign:
      create(e.id, e.size, e.line);
      break;
    case Op::Calloc:
      create(e.id, e.count * e.size, 0);
      break;
    case Op::Realloc: {
      Expected* x = objects_.find(e.id);
      if (x == nullptr) {
        create(e.id, e.size, e.line);
      } else if (e.size == 0) {
        objects_.erase(e.id);
      } else {
        resize(*x, e.size, e.line);
      }
      break;
    }
    case Op::Free:
      objects_.erase(e.id);
      break;
    case Op::Write: {
      if (Expected* x = objects_.find(e.id)) write(*x, e.offset, e.size, e.line);
      break;
    }
    case Op::Use:
    case Op::PprBegin:
    case Op::PprEnd:
      break;
  }
}

const ContentModel::Expected* ContentModel::find(std::int64_t id) const {
  return objects_.find(id);
}

void ContentModel::create(std::int64_t id, std::uint64_t size, std::uint32_t stamp) {
  Expected& x = objects_[id];
  x.size = size;
  x.runs.clear();
  if (size > 0) x.runs.push_back({0, stamp});
}

void ContentModel::write(Expected& x, std::uint64_t offset, std::uint64_t len, std::uint32_t stamp) {
  if (len == 0) return;
  const std::uint64_t end = offset + len;
  // The stamp that continues after `end` (the run covering byte `end`), if end < size.
  std::uint32_t after = 0;
  bool has_after = false;
  if (end < x.size) {
    auto it = std::upper_bound(x.runs.begin(), x.runs.end(), end,
                               [](std::uint64_t v, const Run& r) { return v < r.start; });
    after = std::prev(it)->stamp;
    has_after = true;
  }
  std::vector<Run> out;
  out.reserve(x.runs.size() + 2);
  for (const Run& r : x.runs) {
    if (r.start < offset) out.push_back(r);
  }
  out.push_back({offset, stamp});
  if (has_after) out.push_back({end, after});
  for (const Run& r : x.runs) {
    if (r.start > end) out.push_back(r);
  }
  x.runs = std::move(out);
}

void ContentModel::resize(Expected& x, std::uint64_t size, std::uint32_t stamp) {
  if (size < x.size) {
    while (!x.runs.empty() && x.runs.back().start >= size) x.runs.pop_back();
  } else if (size > x.size) {
    x.runs.push_back({x.size, stamp});
  }
  x.size = size;
}

}  // namespace pprsim
