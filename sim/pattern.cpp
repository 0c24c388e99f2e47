#include "sim/pattern.h"

#include <cstring>

// One build runs on every x86-64: the loops are compiled twice, for AVX2 and for the baseline,
// and best() picks by the processor once.
#if defined(__x86_64__) && defined(__GNUC__)
#define PPRSIM_HAVE_AVX2_BUILD 1
#endif

namespace pprsim::pattern_words {

namespace {

// Four words in a vector (two SSE2 registers on the baseline, one on AVX2). The helpers take
// and give vectors by reference: a 32-byte vector passed by value has another ABI with AVX
// than without, and they are inlined into both builds.
using V4 = std::uint64_t __attribute__((vector_size(32)));

// x = the counters of words w..w+3, y = those of w+4..w+7 (word() before its last two steps).
[[gnu::always_inline]] inline void first_eight(std::uint64_t key, std::uint64_t w, V4& x, V4& y) {
  for (int k = 0; k < 4; ++k) {
    x[k] = key + (w + static_cast<std::uint64_t>(k)) * kStep;
    y[k] = key + (w + 4 + static_cast<std::uint64_t>(k)) * kStep;
  }
}

// word() of four counters at once: the same operations, lane by lane.
[[gnu::always_inline]] inline void finish(const V4& x, V4& out) { out = (x ^ (x >> 29)) | kNoZeroByte; }

[[gnu::always_inline]] inline void load(const std::uint8_t* p, V4& v) { std::memcpy(&v, p, sizeof v); }

[[gnu::always_inline]] inline bool all_zero(const V4& v) { return (v[0] | v[1] | v[2] | v[3]) == 0; }

// The loops, inlined into each build below.
[[gnu::always_inline]] inline void write_words(std::uint64_t key, std::uint64_t w, std::uint8_t* out, std::uint64_t n) {
  std::uint64_t i = 0;
  if (n >= 8) {
    // Two independent streams of four words: x holds counters w+i.., y those four words later.
    V4 x, y, a, b;
    first_eight(key, w, x, y);
    for (; i + 8 <= n; i += 8) {
      finish(x, a);
      finish(y, b);
      std::memcpy(out + 8 * i, &a, sizeof a);
      std::memcpy(out + 8 * i + 32, &b, sizeof b);
      x += 8 * kStep;
      y += 8 * kStep;
    }
  }
  for (; i < n; ++i) {
    const std::uint64_t v = word(key, w + i);
    std::memcpy(out + 8 * i, &v, 8);
  }
}

[[gnu::always_inline]] inline std::uint64_t same_words(std::uint64_t key, std::uint64_t w,
                                                     const std::uint8_t* bytes, std::uint64_t n) {
  std::uint64_t i = 0;
  if (n >= 8) {
    V4 x, y, a, b, want_a, want_b;
    first_eight(key, w, x, y);
    // Eight words per test; the word that differed is found below, one at a time.
    for (; i + 8 <= n; i += 8) {
      load(bytes + 8 * i, a);
      load(bytes + 8 * i + 32, b);
      finish(x, want_a);
      finish(y, want_b);
      if (!all_zero((a ^ want_a) | (b ^ want_b))) break;
      x += 8 * kStep;
      y += 8 * kStep;
    }
  }
  for (; i < n; ++i) {
    std::uint64_t v;
    std::memcpy(&v, bytes + 8 * i, 8);
    if (v != word(key, w + i)) return i;
  }
  return n;
}

[[gnu::always_inline]] inline std::uint64_t zero_words(const std::uint8_t* bytes, std::uint64_t n) {
  std::uint64_t i = 0;
  V4 a, b;
  for (; i + 8 <= n; i += 8) {
    load(bytes + 8 * i, a);
    load(bytes + 8 * i + 32, b);
    if (!all_zero(a | b)) break;
  }
  for (; i < n; ++i) {
    std::uint64_t v;
    std::memcpy(&v, bytes + 8 * i, 8);
    if (v != 0) return i;
  }
  return n;
}

void write_baseline(std::uint64_t key, std::uint64_t w, std::uint8_t* out, std::uint64_t n) {
  write_words(key, w, out, n);
}
std::uint64_t same_baseline(std::uint64_t key, std::uint64_t w, const std::uint8_t* bytes, std::uint64_t n) {
  return same_words(key, w, bytes, n);
}
std::uint64_t zeros_baseline(const std::uint8_t* bytes, std::uint64_t n) { return zero_words(bytes, n); }

#ifdef PPRSIM_HAVE_AVX2_BUILD
[[gnu::target("avx2")]] void write_avx2(std::uint64_t key, std::uint64_t w, std::uint8_t* out, std::uint64_t n) {
  write_words(key, w, out, n);
}
[[gnu::target("avx2")]] std::uint64_t same_avx2(std::uint64_t key, std::uint64_t w, const std::uint8_t* bytes,
                                                std::uint64_t n) {
  return same_words(key, w, bytes, n);
}
[[gnu::target("avx2")]] std::uint64_t zeros_avx2(const std::uint8_t* bytes, std::uint64_t n) {
  return zero_words(bytes, n);
}
#endif

}  // namespace

const Loops& baseline() {
  static const Loops loops{write_baseline, same_baseline, zeros_baseline};
  return loops;
}

const Loops& best() {
#ifdef PPRSIM_HAVE_AVX2_BUILD
  static const Loops avx2{write_avx2, same_avx2, zeros_avx2};
  static const bool has_avx2 = __builtin_cpu_supports("avx2");
  return has_avx2 ? avx2 : baseline();
#else
  return baseline();
#endif
}

}  // namespace pprsim::pattern_words
