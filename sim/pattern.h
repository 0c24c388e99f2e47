// The bytes the replay writes into objects: a function of the object id, the trace line of the
// write (its stamp) and the offset, so that every byte's expected value is known to the oracle
// and a byte written by the wrong event, to the wrong object or at the wrong offset shows.
//
// One fill is keyed once by a strong hash of (id, stamp); its words then follow from the key
// with an add, a shift and two logic operations each. The simulator writes and checks every
// byte a trace allocates, so this is on its hottest path (a full hash per word was a fifth of
// a replay's time).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace pprsim {

// The words of a fill from its key, one at a time and in bulk. The bulk loops compute four
// words per vector step, built twice: for the x86-64 baseline (two SSE2 registers a step) and
// for AVX2 (one), chosen by the processor. Filling and checking every allocated byte is what
// the simulator does most.
namespace pattern_words {

inline constexpr std::uint64_t kStep = 0xD6E8FEB86659FD93ull;  // odd: distinct words in 2^64
// Or'ed into every word: no zero byte, so a pattern never looks like calloc'd memory.
inline constexpr std::uint64_t kNoZeroByte = 0x0101010101010101ull;

constexpr std::uint64_t word(std::uint64_t key, std::uint64_t i) {
  std::uint64_t x = key + i * kStep;
  x ^= x >> 29;
  return x | kNoZeroByte;
}

struct Loops {
  // out[0..8n) = words [w, w + n) of the fill keyed `key` (host order; out need not be aligned).
  void (*write)(std::uint64_t key, std::uint64_t w, std::uint8_t* out, std::uint64_t n);
  // How many of the n words at `bytes` are words w, w + 1, ... of the fill, before the first
  // that is not.
  std::uint64_t (*same)(std::uint64_t key, std::uint64_t w, const std::uint8_t* bytes, std::uint64_t n);
  // How many of the n words at `bytes` are zero, before the first that is not.
  std::uint64_t (*zeros)(const std::uint8_t* bytes, std::uint64_t n);
};
// The baseline build, which every x86-64 runs.
const Loops& baseline();
// The build Pattern uses: AVX2 where the processor has it, else the baseline.
const Loops& best();

}  // namespace pattern_words

class Pattern {
 public:
  // Stamp 0 means "zero bytes" (calloc).
  constexpr Pattern(std::int64_t id, std::uint32_t stamp)
      : key_(stamp == 0 ? 0 : mix(static_cast<std::uint64_t>(id) * 0x9E3779B97F4A7C15ull ^
                                  (static_cast<std::uint64_t>(stamp) << 32 | stamp))),
        zero_(stamp == 0) {}

  // Word `i` of the fill (bytes 8i..8i+7 from the object's base, least significant first).
  constexpr std::uint64_t word(std::uint64_t i) const { return zero_ ? 0 : pattern_words::word(key_, i); }

  constexpr std::uint8_t byte(std::uint64_t offset) const {
    return static_cast<std::uint8_t>(word(offset / 8) >> (8 * (offset % 8)));
  }

  // out[0..len) = bytes [offset, offset + len) of the fill.
  void write(std::uint64_t offset, std::uint8_t* out, std::uint64_t len) const {
    static_assert(std::endian::native == std::endian::little, "pattern words are stored as host words");
    if (zero_) {
      std::memset(out, 0, len);
      return;
    }
    std::uint64_t i = 0;
    for (; i < len && (offset + i) % 8 != 0; ++i) out[i] = byte(offset + i);
    const std::uint64_t words = (len - i) / 8;
    pattern_words::best().write(key_, (offset + i) / 8, out + i, words);
    i += 8 * words;
    for (; i < len; ++i) out[i] = byte(offset + i);
  }

  // The first k in [0, len) where bytes[k] is not byte offset + k of the fill; len when none.
  std::uint64_t mismatch(std::uint64_t offset, const std::uint8_t* bytes, std::uint64_t len) const {
    std::uint64_t i = 0;
    for (; i < len && (offset + i) % 8 != 0; ++i) {
      if (bytes[i] != byte(offset + i)) return i;
    }
    const std::uint64_t words = (len - i) / 8;
    const pattern_words::Loops& loops = pattern_words::best();
    const std::uint64_t same =
        zero_ ? loops.zeros(bytes + i, words) : loops.same(key_, (offset + i) / 8, bytes + i, words);
    i += 8 * same;
    for (; i < len; ++i) {
      if (bytes[i] != byte(offset + i)) return i;
    }
    return len;
  }

 private:
  static constexpr std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 32;
    x *= 0xD6E8FEB86659FD93ull;
    x ^= x >> 32;
    x *= 0xD6E8FEB86659FD93ull;
    x ^= x >> 32;
    return x;
  }

  std::uint64_t key_;
  bool zero_;
};

constexpr std::uint64_t pattern_word(std::int64_t id, std::uint32_t stamp, std::uint64_t word) {
  return Pattern(id, stamp).word(word);
}

constexpr std::uint8_t pattern_byte(std::int64_t id, std::uint32_t stamp, std::uint64_t offset) {
  return Pattern(id, stamp).byte(offset);
}

}  // namespace pprsim
