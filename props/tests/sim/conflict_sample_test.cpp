// The conflicts a run keeps in detail when there are more than it can keep: every task pair is
// in the sample (a busy pair first in the run does not crowd out the others), a busy pair's kept
// conflicts reach across the run, and the counts beside the sample are complete.
#include <gtest/gtest.h>

#include <algorithm>

#include "sim/conflict_sample.h"

namespace pprsim {
namespace {

Conflict conflict(int group, int first, int second, Conflict::Class cls = Conflict::Class::AllocatorInduced) {
  Conflict c;
  c.group = group;
  c.first_task = first;
  c.second_task = second;
  c.cls = cls;
  return c;
}

TEST(ConflictSample, EveryPairIsKeptAndABusyPairIsSpreadOverTheRun) {
  ConflictSample s(100);
  // Groups 0-999: tasks 0 and 1 conflict 3 times a group; the late pairs come after them.
  for (int g = 0; g < 1000; ++g) {
    for (int k = 0; k < 3; ++k) s.add(conflict(g, 0, 1));
  }
  for (int g = 1000; g < 1005; ++g) s.add(conflict(g, 5, 7));
  s.add(conflict(1005, 6, 7, Conflict::Class::TrueDependence));
  const std::vector<Conflict> kept = s.kept();
  EXPECT_LE(kept.size(), 100u);
  EXPECT_GE(kept.size(), 50u) << "thinning halves one pair at a time";
  EXPECT_EQ(s.total(), 3006u);
  EXPECT_EQ(std::count_if(kept.begin(), kept.end(), [](const Conflict& c) { return c.first_task == 5; }), 5)
      << "a pair with few conflicts keeps them all";
  EXPECT_EQ(std::count_if(kept.begin(), kept.end(), [](const Conflict& c) { return c.first_task == 6; }), 1);
  EXPECT_EQ(kept.front().group, 0) << "the first conflict of a pair is always kept";
  int last_busy = 0;
  for (const Conflict& c : kept) {
    if (c.first_task == 0) last_busy = c.group;
  }
  EXPECT_GT(last_busy, 900) << "the busy pair's sample reaches the end of its run";
  EXPECT_TRUE(std::is_sorted(kept.begin(), kept.end(), [](const Conflict& a, const Conflict& b) { return a.group < b.group; }))
      << "kept in the order they came";
  // Complete counts by pair and class, and by group.
  const std::vector<ConflictPairCount> pairs = s.pairs();
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_EQ(pairs[0].count, 3000u);
  EXPECT_EQ(pairs[1].count, 5u);
  EXPECT_EQ(pairs[1].kept, 5u);
  EXPECT_EQ(pairs[2].cls, Conflict::Class::TrueDependence);
  EXPECT_EQ(s.per_group().size(), 1006u);
  EXPECT_EQ(s.per_group().at(7), 3u);
}

TEST(ConflictSample, UnderItsCapItKeepsEverything) {
  ConflictSample s(1000);
  for (int g = 0; g < 50; ++g) s.add(conflict(g, g % 3, 3));
  EXPECT_EQ(s.kept().size(), 50u);
  ConflictSample none(0);
  none.add(conflict(0, 0, 1));
  EXPECT_TRUE(none.kept().empty());
  EXPECT_EQ(none.total(), 1u);
}

}  // namespace
}  // namespace pprsim
