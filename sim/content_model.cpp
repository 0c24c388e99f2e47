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
  const std::uint64_t end = offset + len;
  const std::size_t n = x.run_count();
  // The stamp that continues after `end` (that of the run covering byte `end`), if end < size.
  std::uint32_t after = 0;
  for (std::size_t i = 0; i < n && x.run(i).start <= end; ++i) after = x.run(i).stamp;
  std::vector<Run> out;
  out.reserve(n + 2);
  for (std::size_t i = 0; i < n; ++i) {
    if (x.run(i).start < offset) out.push_back(x.run(i));
  }
  out.push_back({offset, stamp});
  if (end < x.size) out.push_back({end, after});
  for (std::size_t i = 0; i < n; ++i) {
    if (x.run(i).start > end) out.push_back(x.run(i));
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
