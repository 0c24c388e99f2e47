// The one source of randomness of pprsim: xoshiro256** seeded through splitmix64, with
// integer-only draws (the standard distributions differ between standard libraries, and a
// generated trace or a run must be the same bytes everywhere). Always passed explicitly; each
// component derives its own stream with `derive`. It lives in traces/, the lowest layer, so
// that the generators and the simulator share it.
#pragma once

#include <cstdint>
#include <string_view>

namespace pprsim {

constexpr std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class Prng {
 public:
  explicit Prng(std::uint64_t seed) {
    for (auto& w : s_) w = splitmix64(seed);
  }

  // An independent stream for a named component, so that one component's extra draws never
  // shift another's.
  static Prng derive(std::uint64_t seed, std::string_view component) {
    std::uint64_t h = 0xCBF29CE484222325ull ^ seed;  // FNV-1a over the name, keyed by the seed
    for (const char c : component) {
      h ^= static_cast<unsigned char>(c);
      h *= 0x100000001B3ull;
    }
    return Prng(h ^ (seed * 0x9E3779B97F4A7C15ull));
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n). requires: n > 0.
  std::uint64_t below(std::uint64_t n) {
    // Lemire's multiply-shift with rejection: unbiased, integer only.
    __extension__ using U128 = unsigned __int128;
    U128 m = static_cast<U128>(next()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<U128>(next()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

  // Uniform in [lo, hi]. requires: lo <= hi.
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) {
    return hi - lo == ~std::uint64_t{0} ? next() : lo + below(hi - lo + 1);
  }

  // True with probability numerator / denominator (always false when numerator is 0).
  // requires: denominator > 0.
  bool chance(std::uint64_t numerator, std::uint64_t denominator) {
    return numerator > 0 && below(denominator) < numerator;
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

}  // namespace pprsim
