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
  x.first = {0, stamp};
  x.more.clear();
}

void ContentModel::write(Expected& x, std::uint64_t offset, std::uint64_t len, std::uint32_t stamp) {
  if (len == 0) return;
  std::vector<Run> runs;
  runs.reserve(x.run_count());
  for (std::size_t i = 0; i < x.run_count(); ++i) runs.push_back(x.run(i));
  const std::uint64_t end = offset + len;
  // The stamp that continues after `end` (the run covering byte `end`), if end < size.
  std::uint32_t after = 0;
  bool has_after = false;
  if (end < x.size) {
    auto it = std::upper_bound(runs.begin(), runs.end(), end,
                               [](std::uint64_t v, const Run& r) { return v < r.start; });
    after = std::prev(it)->stamp;
    has_after = true;
  }
  std::vector<Run> out;
  out.reserve(runs.size() + 2);
  for (const Run& r : runs) {
    if (r.start < offset) out.push_back(r);
  }
  out.push_back({offset, stamp});
  if (has_after) out.push_back({end, after});
  for (const Run& r : runs) {
    if (r.start > end) out.push_back(r);
  }
  // out[0] starts at 0: a write covers bytes of the object, whose first run starts at 0.
  x.first = out.front();
  x.more.assign(out.begin() + 1, out.end());
}

void ContentModel::resize(Expected& x, std::uint64_t size, std::uint32_t stamp) {
  if (size < x.size) {
    // The first run starts at 0 < size: only later runs can fall off the end.
    while (!x.more.empty() && x.more.back().start >= size) x.more.pop_back();
  } else if (size > x.size) {
    if (x.size == 0) {
      x.first = {0, stamp};
    } else {
      x.more.push_back({x.size, stamp});
    }
  }
  x.size = size;
}

}  // namespace pprsim
