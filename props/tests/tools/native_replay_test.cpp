// The native replay driver of `pprsim bench`: what it compiles from a trace, that it runs a real
// allocator to the end, and that it catches an allocator that loses an object's bytes.
#include <gtest/gtest.h>

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "tools/native_replay.h"

namespace pprsim {
namespace {

NativeProgram compile(const std::string& text) {
  std::istringstream in(text);
  auto reader = read_native(in, "test.trace");
  return compile_native(*reader);
}

const char* kTrace =
    "pprtrace 1\n"
    "a 7 100\n"
    "c 9 10 30\n"        // 300 bytes: 400 live
    "ppr\n"
    "r 7 1000\n"         // 1300 live
    "f 9\n"              // 1000
    "m 3 64 50\n"        // 1050
    "end\n"
    "w 3 0 50\n"
    "u 3 10 20\n"
    "f -1\n"
    "a 4 10\n";          // 1060, left live at the end

TEST(NativeReplay, CompileMapsIdsToDenseSlotsAndTracksPeakLiveBytes) {
  const NativeProgram p = compile(kTrace);
  EXPECT_EQ(p.slots, 4u);
  EXPECT_EQ(p.events, 11u);
  EXPECT_EQ(p.allocator_calls, 7u);
  EXPECT_EQ(p.ops.size(), 9u);
  EXPECT_EQ(p.peak_live_bytes, 1300u);
  EXPECT_EQ(p.ops[1].kind, NativeOpKind::Calloc);
  EXPECT_EQ(p.ops[1].a, 10u);
  EXPECT_EQ(p.ops[1].b, 30u);
  EXPECT_EQ(p.ops[7].slot, kNoSlot);
}

MallocFunctions libc() { return {&::malloc, &::free, &::calloc, &::realloc, &::memalign}; }

TEST(NativeReplay, RunsTheSystemAllocatorAndCountsTheFinalFrees) {
  const NativeProgram p = compile(kTrace);
  const NativeRun r = run_native(p.ops.data(), p.ops.size(), p.slots, libc(), 3, 0.0);
  ASSERT_TRUE(r.ok) << r.failure;
  EXPECT_EQ(r.seconds.size(), 3u);
  EXPECT_GE(r.passes, 1u);
  EXPECT_EQ(r.calls_per_pass, 7u + 3u);  // objects 7, 3 and 4 are freed after each pass
}

// An allocator whose realloc hands out a fresh block without copying.
void* forgetful_realloc(void* p, std::size_t n) {
  std::free(p);
  void* q = std::malloc(n);
  if (q != nullptr) std::memset(q, 0, n);
  return q;
}

TEST(NativeReplay, AnAllocatorThatLosesBytesFailsTheRun) {
  const NativeProgram p = compile(kTrace);
  MallocFunctions a = libc();
  a.realloc = &forgetful_realloc;
  const NativeRun r = run_native(p.ops.data(), p.ops.size(), p.slots, a, 1, 0.0);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.failure.find("realloc lost"), std::string::npos) << r.failure;
}

void* null_malloc(std::size_t) { return nullptr; }

TEST(NativeReplay, AnAllocationReturningNullFailsTheRun) {
  const NativeProgram p = compile(kTrace);
  MallocFunctions a = libc();
  a.malloc = &null_malloc;
  const NativeRun r = run_native(p.ops.data(), p.ops.size(), p.slots, a, 1, 0.0);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.failure.find("operation 0"), std::string::npos) << r.failure;
}

TEST(NativeReplay, AProgramSurvivesTheTripThroughAMemoryFile) {
  const NativeProgram p = compile(kTrace);
  const int fd = program_to_memfd(p);
  ASSERT_GE(fd, 0);
  MappedProgram m;
  std::string error;
  ASSERT_TRUE(map_program(fd, m, error)) << error;
  EXPECT_EQ(m.n_ops, p.ops.size());
  EXPECT_EQ(m.slots, p.slots);
  EXPECT_EQ(std::memcmp(m.ops, p.ops.data(), p.ops.size() * sizeof(NativeOp)), 0);
}

}  // namespace
}  // namespace pprsim
