// A recycled process (Process::recycle) holds nothing of the processes it was forked from, and a
// fork into it is the same child a fresh fork makes.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

#include "sim/process.h"

namespace pprsim {
namespace {

constexpr std::uint64_t kLimit = 1 << 24;

TEST(Process, RecycledChildLetsGoOfItsParentsPages) {
  Process parent(kLimit);
  const Addr a = parent.mem.sys_alloc(2 * kPageSize);
  parent.mem.store64(a, 11);
  parent.mem.store64(a + kPageSize, 12);
  ASSERT_EQ(parent.space.private_pages(), 2u);

  std::unique_ptr<Process> child = parent.fork();
  EXPECT_EQ(parent.space.private_pages(), 0u) << "forked: both pages shared";
  child->mem.store64(a, 21);  // the child's own copy of the first page
  EXPECT_EQ(parent.space.private_pages(), 1u);

  child->recycle();
  EXPECT_EQ(parent.space.private_pages(), 2u) << "a recycled process shares no page with its parent";
  EXPECT_EQ(child->space.mapped_pages(), 0u);
  EXPECT_EQ(parent.mem.load64(a), 11u);
}

TEST(Process, ForkIntoARecycledProcessIsAFreshChild) {
  Process parent(kLimit);
  const Addr a = parent.mem.sys_alloc(kPageSize);
  parent.mem.store64(a, 1);
  parent.objects.set(7, Object{a, 16, 1, 16});

  // A task's life: it tracks, writes, allocates, changes an object, then is recycled.
  std::unique_ptr<Process> used = parent.fork();
  used->start_tracking();
  used->log->set_line(3);
  used->mem.store64(a, 2);
  const Addr b = used->mem.sys_alloc(kPageSize);
  ASSERT_NE(b, 0u);
  used->mem.store64(b, 3);
  used->objects.erase(7);
  used->objects.set(8, Object{b, 8, 3, 8});
  used->recycle();

  // The parent moves on; the next child is forked into the recycled process.
  parent.mem.store64(a, 4);
  parent.objects.set(9, Object{a + 16, 8, 5, 8});
  std::unique_ptr<Process> child = parent.fork(std::move(used));
  EXPECT_EQ(child->mem.load64(a), 4u) << "the parent's bytes now, not the old child's";
  EXPECT_FALSE(child->space.is_mapped(b)) << "what the old child obtained is gone";
  ASSERT_NE(child->objects.find(7), nullptr) << "the old child's erasure is forgotten";
  EXPECT_EQ(child->objects.find(8), nullptr) << "so is its object";
  ASSERT_NE(child->objects.find(9), nullptr) << "the parent's objects show through";
  EXPECT_EQ(child->objects.size(), 2u);
  EXPECT_EQ(child->sys.regions(), parent.sys.regions());

  child->start_tracking();
  ASSERT_NE(child->log, nullptr);
  EXPECT_TRUE(child->log->pages().empty()) << "the recycled log starts empty";
  child->log->set_line(9);
  (void)child->mem.load64(a + 8);
  const AccessLog::PageLog* pl = child->log->page(a / kPageSize);
  ASSERT_NE(pl, nullptr);
  EXPECT_EQ(pl->write_line[0], 0u) << "no write of the old life";
  EXPECT_EQ(pl->read_line[8], 9u);

  // Its writes are its own.
  child->mem.store64(a, 5);
  EXPECT_EQ(parent.mem.load64(a), 4u);
}

}  // namespace
}  // namespace pprsim
