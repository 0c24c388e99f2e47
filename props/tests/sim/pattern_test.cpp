// The replay's object pattern: Pattern::write, which builds it in vector steps, gives exactly
// the bytes Pattern::byte defines, from any offset, in any length; Pattern::mismatch finds the
// first byte that differs from them, wherever it is. The loops' two builds (baseline, AVX2)
// give the same answers.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <vector>

#include "sim/pattern.h"

namespace pprsim {
namespace {

// A line, or (as often) 0: the zero bytes of calloc, which have a path of their own.
rc::Gen<std::uint32_t> any_stamp() {
  return rc::gen::oneOf(rc::gen::just<std::uint32_t>(0), rc::gen::inRange<std::uint32_t>(1, 100000));
}

RC_GTEST_PROP(Pattern, WriteHoldsTheBytesByteDefines, ()) {
  const auto id = *rc::gen::inRange<std::int64_t>(-5, 1000000);
  const auto stamp = *any_stamp();
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
  const auto stamp = *any_stamp();
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

// Where the processor has AVX2, best() is that build and Pattern's properties above test it;
// the baseline build must agree with it word for word, and with word().
RC_GTEST_PROP(Pattern, BaselineAndBestLoopsAgree, ()) {
  const auto key = *rc::gen::arbitrary<std::uint64_t>();
  const auto w = *rc::gen::arbitrary<std::uint64_t>();
  const auto n = *rc::gen::inRange<std::uint64_t>(0, 200);
  const pattern_words::Loops& base = pattern_words::baseline();
  const pattern_words::Loops& best = pattern_words::best();
  std::vector<std::uint8_t> a(8 * n + 1, 0xEE), b(8 * n + 1, 0xEE);
  base.write(key, w, a.data() + 1, n);  // unaligned, as Pattern::write may call it
  best.write(key, w, b.data() + 1, n);
  RC_ASSERT(a == b);
  for (std::uint64_t i = 0; i < n; ++i) {
    std::uint64_t v;
    std::memcpy(&v, a.data() + 1 + 8 * i, 8);
    RC_ASSERT(v == pattern_words::word(key, w + i));
  }
  RC_ASSERT(base.same(key, w, a.data() + 1, n) == n);
  RC_ASSERT(best.same(key, w, a.data() + 1, n) == n);
  std::vector<std::uint8_t> zero(8 * n + 1, 0);
  RC_ASSERT(base.zeros(zero.data() + 1, n) == n);
  RC_ASSERT(best.zeros(zero.data() + 1, n) == n);
  if (n > 0) {
    const auto at = *rc::gen::inRange<std::uint64_t>(0, 8 * n);
    const auto flip = *rc::gen::inRange<int>(1, 256);
    a[1 + at] ^= static_cast<std::uint8_t>(flip);
    zero[1 + at] ^= static_cast<std::uint8_t>(flip);
    RC_ASSERT(base.same(key, w, a.data() + 1, n) == at / 8);
    RC_ASSERT(best.same(key, w, a.data() + 1, n) == at / 8);
    RC_ASSERT(base.zeros(zero.data() + 1, n) == at / 8);
    RC_ASSERT(best.zeros(zero.data() + 1, n) == at / 8);
  }
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
