// The replay's object pattern: for_pattern, which builds it a word at a time, gives exactly the
// bytes pattern_byte defines, from any offset, in any length.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <vector>

#include "sim/pattern.h"

namespace pprsim {
namespace {

RC_GTEST_PROP(Pattern, ChunksHoldTheBytesPatternByteDefines, ()) {
  const auto id = *rc::gen::inRange<std::int64_t>(-5, 1000000);
  const auto stamp = *rc::gen::inRange<std::uint32_t>(0, 100000);
  const auto offset = *rc::gen::inRange<std::uint64_t>(0, 20000);
  const auto len = *rc::gen::inRange<std::uint64_t>(0, 9000);
  std::uint64_t next = offset;
  for_pattern(id, stamp, offset, len, [&](std::uint64_t at, const std::uint8_t* bytes, std::uint64_t n) {
    RC_ASSERT(at == next);
    RC_ASSERT(n > 0u);
    for (std::uint64_t i = 0; i < n; ++i) RC_ASSERT(bytes[i] == pattern_byte(id, stamp, at + i));
    next += n;
  });
  RC_ASSERT(next == offset + len);
}

TEST(Pattern, StampZeroIsZeroBytesAndOthersHaveNone) {
  for_pattern(7, 0, 3, 100, [](std::uint64_t, const std::uint8_t* bytes, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) EXPECT_EQ(bytes[i], 0);
  });
  for_pattern(7, 9, 3, 100, [](std::uint64_t, const std::uint8_t* bytes, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) EXPECT_NE(bytes[i], 0);
  });
}

}  // namespace
}  // namespace pprsim
