// ForkObjects answers "which objects start at or before x" the same from the replay's address
// index as from the object table's own sort: the conflict report must not depend on which.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <limits>
#include <set>
#include <utility>
#include <vector>

#include "sim/conflicts.h"

namespace pprsim {
namespace {

RC_GTEST_PROP(ForkObjects, TheIndexAndTheTableAgree, ()) {
  ObjectTable table;
  AddressIndex index;
  const auto n = *rc::gen::inRange(0, 200);
  for (std::int64_t id = 0; id < n; ++id) {
    // Few distinct addresses, so that equal addresses (ordered by id) occur.
    const Addr addr = 0x1000 + 16 * static_cast<Addr>(*rc::gen::inRange(0, 64));
    const auto size = static_cast<std::uint64_t>(*rc::gen::inRange(0, 100));
    table.set(id, Object{addr, size, 1, 0});
    index.insert({{addr, id}, size});
  }
  const ForkObjects sorted(table);
  const ForkObjects indexed(table, index);
  for (int q = 0; q < 20; ++q) {
    const Addr x = 0x1000 + static_cast<Addr>(*rc::gen::inRange(-32, 1100));
    const int limit = *rc::gen::inRange(1, 70);
    std::vector<std::pair<std::int64_t, Addr>> a;
    std::vector<std::pair<std::int64_t, Addr>> b;
    sorted.before(x, limit, [&](std::int64_t id, const Object& o) { a.emplace_back(id, o.addr); });
    indexed.before(x, limit, [&](std::int64_t id, const Object& o) { b.emplace_back(id, o.addr); });
    RC_ASSERT(a == b);
    for (const auto& [id, addr] : a) RC_ASSERT(addr <= x);
    // Up to next_start(x), before() has the same objects to visit: none starts in between.
    const Addr next = indexed.next_start(x);
    RC_ASSERT(sorted.next_start(x) == next);
    RC_ASSERT(next > x);
    bool starts_at_next = false;
    for (std::int64_t id = 0; id < n; ++id) {
      const Addr at = table.find(id)->addr;
      RC_ASSERT(!(at > x && at < next));
      starts_at_next = starts_at_next || at == next;
    }
    RC_ASSERT(starts_at_next || next == std::numeric_limits<Addr>::max());
  }
}

}  // namespace
}  // namespace pprsim
