// IdMap against std::unordered_map: any sequence of insertions, lookups and erasures leaves
// both with the same entries (erasure's backward shift keeps every entry reachable), and two
// maps given the same operations iterate in the same order.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <vector>

#include "traces/id_map.h"

namespace pprsim {
namespace {

struct MapOp {
  int kind;  // 0 insert, 1 erase, 2 find, 3 clear (rarely)
  std::int64_t id;
};

std::vector<MapOp> gen_ops() {
  // Small id ranges make collisions, clusters and wrap-arounds common.
  const auto range = *rc::gen::element<std::int64_t>(8, 40, 1000, std::int64_t{1} << 28);
  const auto n = *rc::gen::inRange<std::size_t>(0, 600);
  std::vector<MapOp> ops;
  for (std::size_t k = 0; k < n; ++k) {
    const int kind = *rc::gen::inRange(0, 100) == 0 ? 3 : *rc::gen::inRange(0, 3);
    ops.push_back({kind, *rc::gen::inRange<std::int64_t>(0, range)});
  }
  return ops;
}

RC_GTEST_PROP(IdMap, HoldsWhatAnUnorderedMapHolds, ()) {
  const std::vector<MapOp> ops = gen_ops();
  IdMap<std::uint64_t> m;
  std::unordered_map<std::int64_t, std::uint64_t> ref;
  std::uint64_t next = 1;
  for (const MapOp& op : ops) {
    if (op.kind == 0) {
      const auto [v, inserted] = m.try_emplace(op.id, next);
      const auto [it, ref_inserted] = ref.try_emplace(op.id, next);
      RC_ASSERT(inserted == ref_inserted);
      RC_ASSERT(*v == it->second);
      ++next;
    } else if (op.kind == 1) {
      RC_ASSERT(m.erase(op.id) == (ref.erase(op.id) == 1));
    } else if (op.kind == 3) {
      m.clear();
      ref.clear();
    }
    const std::uint64_t* v = m.find(op.id);
    const auto it = ref.find(op.id);
    RC_ASSERT((v != nullptr) == (it != ref.end()));
    if (v != nullptr) RC_ASSERT(*v == it->second);
    RC_ASSERT(m.size() == ref.size());
  }
  std::map<std::int64_t, std::uint64_t> seen;
  m.for_each([&](std::int64_t id, std::uint64_t v) { RC_ASSERT(seen.emplace(id, v).second); });
  const std::map<std::int64_t, std::uint64_t> want(ref.begin(), ref.end());
  RC_ASSERT(seen == want);
  for (const auto& [id, v] : ref) RC_ASSERT(m.contains(id));
}

RC_GTEST_PROP(IdMap, IterationOrderDependsOnTheOperationsOnly, ()) {
  const std::vector<MapOp> ops = gen_ops();
  IdMap<int> a;
  IdMap<int> b;
  for (const MapOp& op : ops) {
    if (op.kind == 0) {
      a[op.id] = 1;
      b[op.id] = 1;
    } else if (op.kind == 1) {
      a.erase(op.id);
      b.erase(op.id);
    } else if (op.kind == 3) {
      a.clear();
      b.clear();
    }
  }
  std::vector<std::int64_t> order_a;
  std::vector<std::int64_t> order_b;
  a.for_each([&](std::int64_t id, int) { order_a.push_back(id); });
  b.for_each([&](std::int64_t id, int) { order_b.push_back(id); });
  RC_ASSERT(order_a == order_b);
}

TEST(IdMap, NegativeIdsAreNeverFoundNorStored) {
  IdMap<int> m;
  m[3] = 7;
  EXPECT_EQ(m.find(-1), nullptr);
  EXPECT_FALSE(m.erase(-1));
  EXPECT_THROW(m[-1] = 1, std::invalid_argument) << "-1 marks an empty slot";
  EXPECT_EQ(m.size(), 1u);
  ASSERT_NE(m.find(3), nullptr);
  EXPECT_EQ(*m.find(3), 7);
}

}  // namespace
}  // namespace pprsim
