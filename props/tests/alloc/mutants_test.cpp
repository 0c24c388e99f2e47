// The seeded bugs stay out of the production core: DmMalloc has no mutant configuration, the
// control allocator `shared` is a type of its own, and a mutant run names itself mutant:NAME.
#include <gtest/gtest.h>

#include <string>
#include <type_traits>

#include "alloc/dmmalloc.h"
#include "alloc/mutants.h"
#include "alloc/native_memory.h"
#include "alloc/shared.h"
#include "props/tests/test_support.h"
#include "sim/sim_allocator.h"

namespace pprsim {
namespace {

using test::config;
using test::replay_text;

// No runtime switch in the core: neither a Config nor a two-argument constructor.
template <class A>
concept HasConfig = requires { typename A::Config; };
static_assert(!HasConfig<DmMalloc<NativeMemory>>);
static_assert(!std::is_constructible_v<DmMalloc<NativeMemory>, NativeMemory*, Mutant>);
static_assert(!std::is_base_of_v<DmMalloc<NativeMemory>, SharedMalloc<NativeMemory>>);

TEST(Mutants, EachRunNamesItsMutant) {
  const std::string trace = "pprtrace 1\na 1 40\nppr\na 2 40\nf 1\nend\nf 2\n";
  for (const MutantInfo& m : kMutants) {
    const std::string name = std::string(kMutantPrefix) + std::string(m.name);
    const RunStats s = replay_text(trace, config(name, 2));
    EXPECT_EQ(s.allocator, name);
  }
  EXPECT_EQ(replay_text(trace, config("dmmalloc", 2)).allocator, "dmmalloc");
}

TEST(Mutants, NamesAreDistinctAndAllReachable) {
  for (std::size_t i = 0; i < kMutants.size(); ++i) {
    EXPECT_TRUE(is_allocator_name(std::string(kMutantPrefix) + std::string(kMutants[i].name)));
    for (std::size_t j = i + 1; j < kMutants.size(); ++j) EXPECT_NE(kMutants[i].name, kMutants[j].name);
  }
  EXPECT_FALSE(is_allocator_name("mutant:none"));
}

// A mutant runs DmMalloc unchanged outside its bug: the same calls give the same addresses.
TEST(Mutants, OutsideTheBugAMutantIsDmMalloc) {
  NativeMemory m1, m2;
  DmMalloc<NativeMemory> dm(&m1);
  DmMallocMutant<NativeMemory> mu(&m2, Mutant::UsableTooLarge);
  const Addr a = dm.malloc(100), b = mu.malloc(100);
  ASSERT_NE(a, 0u);
  ASSERT_NE(b, 0u);
  EXPECT_EQ(mu.usable_size(b), dm.usable_size(a) + 16) << "the seeded bug";
  EXPECT_EQ(a - dm.malloc(0), b - mu.malloc(0)) << "the same layout";
}

}  // namespace
}  // namespace pprsim
