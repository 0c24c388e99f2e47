// The bytes the replay writes into objects: a function of the object id, the trace line of the
// write (its stamp) and the offset, so that every byte's expected value is known to the oracle
// and a byte written by the wrong event, to the wrong object or at the wrong offset shows.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace pprsim {

// Stamp 0 means "zero bytes" (calloc).
constexpr std::uint64_t pattern_word(std::int64_t id, std::uint32_t stamp, std::uint64_t word) {
  if (stamp == 0) return 0;
  std::uint64_t x = static_cast<std::uint64_t>(id) * 0x9E3779B97F4A7C15ull ^
                    (static_cast<std::uint64_t>(stamp) << 32) ^ (word * 0xD6E8FEB86659FD93ull);
  x ^= x >> 32;
  x *= 0xD6E8FEB86659FD93ull;
  x ^= x >> 32;
  return x | 0x0101010101010101ull;  // no zero byte: a pattern never looks like calloc'd memory
}

constexpr std::uint8_t pattern_byte(std::int64_t id, std::uint32_t stamp, std::uint64_t offset) {
  return static_cast<std::uint8_t>(pattern_word(id, stamp, offset / 8) >> (8 * (offset % 8)));
}

// Calls emit(chunk_offset, bytes, n) for consecutive chunks of the pattern of
// [offset, offset + len) (so callers write it with a few large accesses). Whole words are
// stored as words: byte k of a word is its k-th least significant byte, which is how a
// little-endian host lays a word out.
template <class Emit>
void for_pattern(std::int64_t id, std::uint32_t stamp, std::uint64_t offset, std::uint64_t len,
                 Emit&& emit) {
  static_assert(std::endian::native == std::endian::little, "pattern words are stored as host words");
  std::uint8_t buf[4096];
  while (len > 0) {
    const std::uint64_t n = len < sizeof buf ? len : sizeof buf;
    std::uint64_t i = 0;
    for (; i < n && (offset + i) % 8 != 0; ++i) buf[i] = pattern_byte(id, stamp, offset + i);
    for (; i + 8 <= n; i += 8) {
      const std::uint64_t w = pattern_word(id, stamp, (offset + i) / 8);
      std::memcpy(buf + i, &w, 8);
    }
    for (; i < n; ++i) buf[i] = pattern_byte(id, stamp, offset + i);
    emit(offset, buf, n);
    offset += n;
    len -= n;
  }
}

}  // namespace pprsim
