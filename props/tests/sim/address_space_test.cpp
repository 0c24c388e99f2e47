// The simulated address space: copy-on-write fork, isolation, faults, and system memory.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstring>
#include <map>
#include <vector>

#include "sim/address_space.h"
#include "sim/pattern.h"
#include "sim/process.h"
#include "sim/system_memory.h"

namespace pprsim {
namespace {

TEST(AddressSpace, UntouchedPagesReadAsZero) {
  AddressSpace s;
  s.map(0x10000, 2 * kPageSize);
  EXPECT_EQ(s.load64(0x10000), 0u);
  EXPECT_EQ(s.load64(0x10000 + kPageSize + 8), 0u);
  EXPECT_EQ(s.private_pages(), 0u);
}

TEST(AddressSpace, UnmappedAccessFaultsWithTheAddress) {
  AddressSpace s;
  s.map(0x10000, kPageSize);
  try {
    s.load64(0x20000);
    FAIL() << "no fault";
  } catch (const MemoryFault& f) {
    EXPECT_EQ(f.addr(), 0x20000u);
  }
  // A range that runs off the mapping faults too.
  std::vector<std::uint8_t> buf(16);
  EXPECT_THROW(s.read(0x10000 + kPageSize - 8, buf.data(), 16), MemoryFault);
  s.unmap(0x10000, kPageSize);
  EXPECT_THROW(s.store64(0x10000, 1), MemoryFault);
}

// Forgetting the lookup caches is a generation bump, and the 4,095th bump wraps the generation
// to 0 and clears the caches for real. Page B is written once before any fork, so the
// writable cache holds it under generation 0; 4,095 forks later the generation is 0 again,
// and only the clear keeps that entry from letting the parent write into the page it now
// shares with its newest child.
TEST(AddressSpace, ForksStayIsolatedAcrossACacheGenerationWrap) {
  AddressSpace s;
  const Addr a = 0x40000;
  const Addr b = a + 64 * kPageSize;  // another slot of the direct-mapped cache
  s.map(a, kPageSize);
  s.map(b, kPageSize);
  s.store64(b, 7);
  for (std::uint64_t i = 1; i < 4095; ++i) {
    AddressSpace child = s.fork();
    s.store64(a, i);
    ASSERT_EQ(child.load64(a), i - 1) << "after " << i << " forks";
  }
  AddressSpace newest = s.fork();  // the 4,095th fork: the generation wraps
  s.store64(b, 8);
  EXPECT_EQ(newest.load64(b), 7u) << "the parent's write reached the child's page";
  EXPECT_EQ(s.load64(b), 8u);
}

TEST(AddressSpace, ForkSharesPagesUntilAWrite) {
  AddressSpace parent;
  parent.map(0x10000, 4 * kPageSize);
  for (int i = 0; i < 4; ++i) parent.store64(0x10000 + i * kPageSize, 100 + i);
  EXPECT_EQ(parent.private_pages(), 4u);
  AddressSpace child = parent.fork();
  EXPECT_EQ(parent.private_pages(), 0u);  // all shared now
  EXPECT_EQ(child.load64(0x10000 + kPageSize), 101u);
  child.store64(0x10000 + kPageSize, 7);
  EXPECT_EQ(child.private_pages(), 1u);  // only the written page was copied
  EXPECT_EQ(parent.load64(0x10000 + kPageSize), 101u);
  parent.store64(0x10000, 9);
  EXPECT_EQ(child.load64(0x10000), 100u);
}

TEST(AddressSpace, WritesSpanningPagesLandOnBoth) {
  AddressSpace s;
  s.map(0, 2 * kPageSize);
  s.store64(kPageSize - 4, 0x1122334455667788ull);
  EXPECT_EQ(s.load64(kPageSize - 4), 0x1122334455667788ull);
  std::uint8_t b[4];
  s.read(kPageSize, b, 4);
  EXPECT_EQ(b[0], 0x44);
}

// Spaces forked from one another, each beside a byte-for-byte model of what it must hold.
struct ModelledSpaces {
  ModelledSpaces(Addr base, std::uint64_t bytes) : base(base), bytes(bytes) {
    spaces.emplace_back();
    spaces[0].map(base, bytes);
    models.emplace_back(bytes, 0);
  }
  // A space drawn at random.
  std::size_t any() const { return *rc::gen::inRange<std::size_t>(0, spaces.size()); }
  // One time in `one_in`, while there are fewer than `most`: space `who` forks (true).
  bool maybe_fork(std::size_t who, int one_in, std::size_t most) {
    if (*rc::gen::inRange(0, one_in) != 0 || spaces.size() >= most) return false;
    spaces.push_back(spaces[who].fork());
    models.push_back(models[who]);
    return true;
  }
  void assert_each_holds_its_model() {
    for (std::size_t s = 0; s < spaces.size(); ++s) {
      std::vector<std::uint8_t> got(bytes);
      spaces[s].read(base, got.data(), got.size());
      RC_ASSERT(got == models[s]);
    }
  }

  Addr base;
  std::uint64_t bytes;
  std::vector<AddressSpace> spaces;
  std::vector<std::vector<std::uint8_t>> models;
};

// Any interleaving of writes in parent and children keeps every space equal to its own
// byte-for-byte model: copy-on-write never leaks a write into another space.
RC_GTEST_PROP(AddressSpace, ForkedSpacesAreIsolated, ()) {
  constexpr Addr kBase = 0x40000;
  constexpr std::uint64_t kPages = 6;
  ModelledSpaces m(kBase, kPages * kPageSize);
  const int steps = *rc::gen::inRange(1, 200);
  for (int i = 0; i < steps; ++i) {
    const std::size_t who = m.any();
    if (m.maybe_fork(who, 10, 6)) continue;
    const std::uint64_t off = *rc::gen::inRange<std::uint64_t>(0, kPages * kPageSize - 64);
    const std::uint64_t len = *rc::gen::inRange<std::uint64_t>(1, 64);
    const auto byte = *rc::gen::arbitrary<std::uint8_t>();
    std::vector<std::uint8_t> data(len, byte);
    m.spaces[who].write(kBase + off, data.data(), len);
    std::memset(m.models[who].data() + off, byte, len);
  }
  m.assert_each_holds_its_model();
}

// Pattern fills of up to 150 pages, starting anywhere and crossing the page table's leaf nodes
// (64 pages each), in forked spaces: every space reads back exactly its own fills, and a fill in
// one leaves the others as they were.
RC_GTEST_PROP(AddressSpace, PatternFillsAcrossLeavesStayInTheirSpace, ()) {
  constexpr Addr kBase = Addr{1} << 40;
  constexpr std::uint64_t kBytes = 300 * kPageSize;
  ModelledSpaces m(kBase, kBytes);
  const int steps = *rc::gen::inRange(1, 10);
  for (int i = 0; i < steps; ++i) {
    const std::size_t who = m.any();
    if (m.maybe_fork(who, 4, 4)) continue;
    const std::uint64_t len = *rc::gen::inRange<std::uint64_t>(1, 150 * kPageSize);
    const std::uint64_t off = *rc::gen::inRange<std::uint64_t>(0, kBytes - len + 1);
    const std::uint64_t before = 8 * *rc::gen::inRange<std::uint64_t>(0, off / 8 + 1);  // the object starts here
    const auto id = *rc::gen::inRange<std::int64_t>(0, 1000);
    const auto stamp = *rc::gen::inRange<std::uint32_t>(1, 1000);
    const Addr base = (kBase + off - before) / 8 * 8;
    m.spaces[who].fill_pattern(kBase + off, len, id, stamp, base);
    Pattern(id, stamp).write(kBase + off - base, m.models[who].data() + off, len);
  }
  m.assert_each_holds_its_model();
}

// Regions far apart, mapped and unmapped in any order in forked spaces: the tree grows its root
// upwards for a page beyond its span (in one space, not in those that share the old root), and
// every space keeps its own mapping and bytes.
RC_GTEST_PROP(AddressSpace, SpacesStayIsolatedAsTheirTreeGrowsUpwards, ()) {
  // The far ones share their low bits with the first: a walk that ignored a page's high bits
  // would land on it.
  const std::vector<Addr> bases{0x40000, Addr{1} << 32, (Addr{1} << 40) + 0x40000, (Addr{1} << 47) + 0x40000,
                                (Addr{1} << 62) + 0x40000};
  constexpr std::uint64_t kPages = 3;
  struct Model {
    std::vector<bool> mapped;
    std::vector<std::vector<std::uint8_t>> bytes;
  };
  std::vector<AddressSpace> spaces(1);
  std::vector<Model> models(1, Model{std::vector<bool>(bases.size(), false),
                                     std::vector<std::vector<std::uint8_t>>(bases.size())});
  const int steps = *rc::gen::inRange(1, 120);
  for (int i = 0; i < steps; ++i) {
    const std::size_t who = *rc::gen::inRange<std::size_t>(0, spaces.size());
    const std::size_t r = *rc::gen::inRange<std::size_t>(0, bases.size());
    Model& m = models[who];
    switch (*rc::gen::inRange(0, 6)) {
      case 0:
        if (spaces.size() < 5) {
          spaces.push_back(spaces[who].fork());
          models.push_back(models[who]);
        }
        break;
      case 1:
        if (!m.mapped[r]) {
          spaces[who].map(bases[r], kPages * kPageSize);
          m.mapped[r] = true;
          m.bytes[r].assign(kPages * kPageSize, 0);
        }
        break;
      case 2:
        spaces[who].unmap(bases[r], kPages * kPageSize);
        m.mapped[r] = false;
        break;
      case 3:
        // A read fills the space's page caches, which is_mapped consults first.
        if (m.mapped[r]) {
          const std::uint64_t off = *rc::gen::inRange<std::uint64_t>(0, kPages * kPageSize - 8);
          std::uint64_t want = 0;
          std::memcpy(&want, m.bytes[r].data() + off, 8);
          RC_ASSERT(spaces[who].load64(bases[r] + off) == want);
        }
        break;
      default:
        if (m.mapped[r]) {
          const std::uint64_t off = *rc::gen::inRange<std::uint64_t>(0, kPages * kPageSize - 8);
          const auto v = *rc::gen::arbitrary<std::uint64_t>();
          spaces[who].store64(bases[r] + off, v);
          std::memcpy(m.bytes[r].data() + off, &v, 8);
        }
    }
    for (std::size_t s = 0; s < spaces.size(); ++s) {
      for (std::size_t q = 0; q < bases.size(); ++q) {
        RC_ASSERT(spaces[s].is_mapped(bases[q]) == models[s].mapped[q]);
      }
    }
  }
  for (std::size_t s = 0; s < spaces.size(); ++s) {
    for (std::size_t r = 0; r < bases.size(); ++r) {
      RC_ASSERT(spaces[s].is_mapped(bases[r]) == models[s].mapped[r]);
      if (!models[s].mapped[r]) continue;
      std::vector<std::uint8_t> got(kPages * kPageSize);
      spaces[s].read(bases[r], got.data(), got.size());
      RC_ASSERT(got == models[s].bytes[r]);
    }
  }
}

TEST(SystemMemory, RegionsArePageAlignedDistinctAndLimited) {
  SystemMemory sys(10 * kPageSize);
  const Addr a = sys.alloc(4 * kPageSize);
  const Addr b = sys.alloc(4 * kPageSize);
  ASSERT_NE(a, 0u);
  ASSERT_NE(b, 0u);
  EXPECT_EQ(a % kPageSize, 0u);
  EXPECT_GE(b, a + 4 * kPageSize);
  EXPECT_EQ(sys.alloc(4 * kPageSize), 0u) << "over the limit";
  EXPECT_EQ(sys.refusals(), 1u);
  EXPECT_EQ(sys.alloc(100), 0u) << "not a page multiple";
  EXPECT_TRUE(sys.free(a, 4 * kPageSize));
  EXPECT_FALSE(sys.free(a, 4 * kPageSize)) << "double free of a region";
  EXPECT_NE(sys.alloc(4 * kPageSize), 0u) << "room again after the free";
  EXPECT_EQ(sys.in_use(), 8 * kPageSize);
}

TEST(SystemMemory, ForkedProvidersBreakLikeRealProcesses) {
  SystemMemory parent(1 << 30);
  SystemMemory child = parent.fork();
  const Addr a = parent.alloc(kPageSize);
  const Addr b = child.alloc(kPageSize);
  EXPECT_EQ(a, b) << "each process has its own break, at the same place after a fork";
  child.adopt(parent.regions().begin()->first + 2 * kPageSize, kPageSize);
  EXPECT_GT(child.alloc(kPageSize), a + 2 * kPageSize) << "an adopted region moves the break past it";
  EXPECT_EQ(parent.regions().size(), 1u);
  EXPECT_EQ(child.regions().size(), 3u);
}

TEST(SystemMemory, ATaskKeepsItsChangesApartAndInItsSlice) {
  SystemMemory parent(1 << 30);
  const Addr shared = parent.alloc(2 * kPageSize);
  const Addr other = parent.alloc(kPageSize);
  SystemMemory task = parent.fork();
  const auto slice = parent.task_slice(0);
  EXPECT_GE(slice.first, other + slice.second) << "a range for the break itself lies below slice 0";
  EXPECT_GE(parent.task_slice(1).first, slice.first + slice.second) << "slices are disjoint";
  task.confine(slice);
  const Addr grown = task.alloc_in_slice(3 * kPageSize);
  ASSERT_GE(grown, slice.first);
  EXPECT_LE(grown + 3 * kPageSize, slice.first + slice.second);
  EXPECT_TRUE(task.free(shared, 2 * kPageSize));
  EXPECT_FALSE(task.free(shared, 2 * kPageSize)) << "released once";
  const Addr gone = task.alloc_in_slice(kPageSize);
  EXPECT_TRUE(task.free(gone, kPageSize)) << "obtained and released in the task: no change at all";
  // The task sees its view; the parent's regions are untouched (they were shared, not copied).
  EXPECT_EQ(task.regions(), (std::map<Addr, std::uint64_t>{{other, kPageSize}, {grown, 3 * kPageSize}}));
  EXPECT_EQ(parent.regions(), (std::map<Addr, std::uint64_t>{{shared, 2 * kPageSize}, {other, kPageSize}}));
  EXPECT_EQ(task.obtained(), (std::map<Addr, std::uint64_t>{{grown, 3 * kPageSize}}));
  EXPECT_EQ(task.released(), (std::vector<std::pair<Addr, std::uint64_t>>{{shared, 2 * kPageSize}}));
  EXPECT_EQ(task.in_use(), 4 * kPageSize);
  EXPECT_EQ(task.alloc_in_slice(slice.second), 0u) << "what the slice cannot hold is refused";
  SystemMemory capped = parent.fork();
  capped.set_slice_bytes(std::uint64_t{1} << 62);  // beyond the limit: a slice as large as the limit
  EXPECT_GT(capped.task_slice(63).first, capped.task_slice(0).first) << "64 slices do not wrap around";
  EXPECT_LE(capped.task_slice(0).second, (std::uint64_t{1} << 30) + kPageSize);
  SystemMemory plain = parent.fork();
  EXPECT_EQ(plain.alloc_in_slice(kPageSize), 0u) << "no slice, no slice memory";
}

TEST(SystemMemory, InjectedRefusal) {
  SystemMemory sys(1 << 30);
  sys.set_refuse([](std::uint64_t bytes) { return bytes > kPageSize; });
  EXPECT_NE(sys.alloc(kPageSize), 0u);
  EXPECT_EQ(sys.alloc(2 * kPageSize), 0u);
}

TEST(AccessTracking, RecordsExposedReadsAndLastWrites) {
  Process p(1 << 20);
  const Addr a = p.mem.sys_alloc(kPageSize);
  p.start_tracking();
  p.log->set_line(5);
  p.mem.store64(a, 1);      // written first: the later read is not exposed
  p.log->set_line(6);
  (void)p.mem.load64(a);
  (void)p.mem.load64(a + 8);  // exposed read
  p.log->set_line(7);
  p.mem.store64(a + 8, 2);
  const AccessLog::PageLog* pl = p.log->page(a / kPageSize);
  ASSERT_NE(pl, nullptr);
  EXPECT_EQ(pl->read_line[0], 0u);
  EXPECT_EQ(pl->write_line[0], 5u);
  EXPECT_EQ(pl->read_line[8], 6u);
  EXPECT_EQ(pl->write_line[8], 7u);
  EXPECT_EQ(pl->read_line[16], 0u);
  {
    const Process::Untracked quiet(p);
    (void)p.mem.load64(a + 16);
  }
  EXPECT_EQ(pl->read_line[16], 0u) << "the harness's own reads are not the program's";
}

}  // namespace
}  // namespace pprsim
