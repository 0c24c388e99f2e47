// What every live object must hold, computed from the trace alone in trace order (the
// sequential reference): per object, runs of bytes each written by one event (its stamp).
#pragma once

#include <cstdint>
#include <vector>

#include "traces/event.h"
#include "traces/id_map.h"

namespace pprsim {

class ContentModel {
 public:
  struct Run {
    std::uint64_t start;  // offset of the run's first byte
    std::uint32_t stamp;  // line of the event that wrote it; 0 = zero bytes
  };
  struct Expected {
    std::uint64_t size = 0;
    // The runs, sorted by start, the first at 0 (none when size is 0). Almost every object has
    // one, kept inline: a vector per object was an allocation per malloc of the trace.
    Run first{0, 0};
    std::vector<Run> more;  // the runs after the first

    std::size_t run_count() const { return size == 0 ? 0 : 1 + more.size(); }
    const Run& run(std::size_t i) const { return i == 0 ? first : more[i - 1]; }
  };

  // Applies one trace event (its effect on object contents, as a sequential run has it).
  void apply(const Event& e);

  const Expected* find(std::int64_t id) const;
  std::size_t size() const { return objects_.size(); }

  // Calls visit(offset, stamp, len) for each run of object `x`.
  template <class Visit>
  static void for_runs(const Expected& x, Visit&& visit) {
    const std::size_t n = x.run_count();
    for (std::size_t i = 0; i < n; ++i) {
      const Run& r = x.run(i);
      const std::uint64_t end = i + 1 < n ? x.run(i + 1).start : x.size;
      visit(r.start, r.stamp, end - r.start);
    }
  }

 private:
  void create(std::int64_t id, std::uint64_t size, std::uint32_t stamp);
  void write(Expected& x, std::uint64_t offset, std::uint64_t len, std::uint32_t stamp);
  void resize(Expected& x, std::uint64_t size, std::uint32_t stamp);

  IdMap<Expected> objects_;
};

}  // namespace pprsim
