// The replay's object pattern: Pattern::write, which builds it a word at a time, gives exactly
// the bytes Pattern::byte defines, from any offset, in any length; Pattern::mismatch finds the
// first byte that differs from them, wherever it is.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <set>
#include <vector>

#include "sim/pattern.h"

namespace pprsim {
namespace {

RC_GTEST_PROP(Pattern, WriteHoldsTheBytesByteDefines, ()) {
  const auto id = *rc::gen::inRange<std::int64_t>(-5, 1000000);
  const auto stamp = *rc::gen::inRange<std::uint32_t>(0, 100000);
  const auto offset = *rc::gen::inRange<std::uint64_t>(0, 20000);
  const auto len = *rc::gen::inRange<std::uint64_t>(0, 9000);
  const Pattern pat(id, stamp);
  std::vector<std::uint8_t> out(len + 2, 0xEE);
  pat.write(offset, out.data() + 1, len);
  RC_ASSERT(out.front() == 0xEE);
  RC_ASSERT(out.back() == 0xEE);
  for (std::uint64_t i = 0; i < len; ++i) RC_ASSERT(out[i + 1] == pat.byte(offset + i));
  RC_ASSERT(pat.mismatch(offset, out.data() + 1, len) == len);
}

RC_GTEST_PROP(Pattern, MismatchFindsTheFirstChangedByte, ()) {
  const auto id = *rc::gen::inRange<std::int64_t>(0, 1000000);
  const auto stamp = *rc::gen::inRange<std::uint32_t>(1, 100000);
  const auto offset = *rc::gen::inRange<std::uint64_t>(0, 20000);
  const auto len = *rc::gen::inRange<std::uint64_t>(1, 9000);
  const Pattern pat(id, stamp);
  std::vector<std::uint8_t> bytes(len);
  pat.write(offset, bytes.data(), len);
  const auto first = *rc::gen::inRange<std::uint64_t>(0, len);
  const auto second = *rc::gen::inRange<std::uint64_t>(first, len);
  bytes[first] ^= *rc::gen::inRange<int>(1, 256);
  bytes[second] ^= 0x10;  // may undo nothing or change a later byte: the first still decides
  const std::uint64_t want = second == first && bytes[first] == pat.byte(offset + first) ? len : first;
  RC_ASSERT(pat.mismatch(offset, bytes.data(), len) == want);
}

TEST(Pattern, StampZeroIsZeroBytesAndOthersHaveNone) {
  std::vector<std::uint8_t> bytes(100, 0xEE);
  Pattern(7, 0).write(3, bytes.data(), bytes.size());
  for (const std::uint8_t b : bytes) EXPECT_EQ(b, 0);
  Pattern(7, 9).write(3, bytes.data(), bytes.size());
  for (const std::uint8_t b : bytes) EXPECT_NE(b, 0);
}

// What makes a misplaced byte show: the words of one fill are distinct, and fills of other
// objects or other lines give other words at the same offset.
TEST(Pattern, WordsDifferAcrossOffsetsObjectsAndLines) {
  std::set<std::uint64_t> seen;
  for (std::int64_t id = 0; id < 8; ++id) {
    for (std::uint32_t stamp = 1; stamp < 9; ++stamp) {
      for (std::uint64_t w = 0; w < 1024; ++w) seen.insert(Pattern(id, stamp).word(w));
    }
  }
  EXPECT_EQ(seen.size(), 8u * 8u * 1024u);
}

}  // namespace
}  // namespace pprsim
