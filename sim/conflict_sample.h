// The conflicts a run keeps in detail when it finds more than it can keep: a sample spread over
// every task pair, class and the whole run, with complete counts beside it. Each (first task,
// second task, class) keeps its conflicts at a stride of its own: while the sample is over its
// cap, the pair that keeps the most doubles its stride and drops every other one it kept. So a
// pair with few conflicts keeps all of them, the first conflict of every pair and class is always
// kept, and a busy pair's kept ones are spread evenly over the run rather than all from its start.
// Deterministic: what is kept depends only on the order the conflicts came in.
#pragma once

#include <cstdint>
#include <map>
#include <tuple>
#include <vector>

#include "sim/conflicts.h"

namespace pprsim {

struct ConflictPairCount {
  int first_task = 0;
  int second_task = 0;
  Conflict::Class cls = Conflict::Class::TrueDependence;
  std::uint64_t count = 0;  // every conflict of this pair and class in the run
  std::uint64_t kept = 0;   // of which the sample keeps
};

class ConflictSample {
 public:
  explicit ConflictSample(std::size_t cap) : cap_(cap) {}
  void add(Conflict c);
  // The kept conflicts in the order they came in.
  std::vector<Conflict> kept() const;
  // Every pair and class seen, in (first task, second task, class) order.
  std::vector<ConflictPairCount> pairs() const;
  // Conflicts per group, for every group that had any, in group order.
  const std::map<std::uint64_t, std::uint64_t>& per_group() const { return per_group_; }
  std::uint64_t total() const { return total_; }

 private:
  struct Kept {
    std::uint64_t order;  // in the run
    std::uint64_t index;  // in its pair
    Conflict c;
  };
  struct Bucket {
    std::uint64_t seen = 0;
    std::uint64_t stride = 1;
    std::vector<Kept> kept;
  };
  void thin();

  std::size_t cap_;
  std::size_t kept_ = 0;
  std::uint64_t total_ = 0;
  std::map<std::tuple<int, int, int>, Bucket> buckets_;
  std::map<std::uint64_t, std::uint64_t> per_group_;
};

}  // namespace pprsim
