// The example allocator of alloc/README.md keeps the contract: it satisfies the concept, holds
// its own invariants after every call, and passes the run properties.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "alloc/example/slot_allocator.h"
#include "alloc/native_memory.h"
#include "alloc/ppr_allocator.h"
#include "props/run_case.h"
#include "props/tests/test_support.h"
#include "sim/sim_allocator.h"
#include "traces/trace_reader.h"

namespace pprsim {
namespace {

static_assert(PprAllocator<SlotAllocator<NativeMemory>, NativeMemory>);

TEST(ExampleAllocator, TheSampleVerifiesAtTheParanoidLevel) {
  ReplayConfig cfg = test::config("example", 4);
  cfg.paranoid = true;
  auto reader = open_trace(test::kSample);
  const RunStats s = replay(*reader, cfg);
  EXPECT_TRUE(s.verified) << s.failure;
  EXPECT_EQ(s.allocator, "example");
}

RC_GTEST_PROP(ExampleAllocator, HoldsEveryRunProperty, ()) {
  const RunCase c = *gen_run_case();
  const RunStats s = run_case(c, "example");
  const auto v = violations(c, s, "example", false);
  RC_ASSERT(v.empty());
}

TEST(ExampleAllocator, IsNotPartOfAll) {
  for (const std::string& n : allocator_names()) EXPECT_NE(n, "example");
  EXPECT_TRUE(is_allocator_name("example"));
}

}  // namespace
}  // namespace pprsim
