// The real memory the simulator itself holds for simulated state (page bytes, page-table nodes,
// access logs), counted exactly and bounded: a run that would need more than the limit stops
// with ResidentLimitExceeded instead of growing until the machine refuses (std::bad_alloc).
// The count is of the simulator's own structures, not the operating system's view, so it is
// deterministic: the same run reaches the limit at the same event everywhere.
#pragma once

#include <cstdint>
#include <stdexcept>

namespace pprsim {

class ResidentLimitExceeded : public std::runtime_error {
 public:
  ResidentLimitExceeded(std::uint64_t limit, std::uint64_t wanted);
  std::uint64_t limit() const { return limit_; }

 private:
  std::uint64_t limit_;
};

class ResidentMeter {
 public:
  // The meter of this thread (the simulator is single-threaded per run).
  static ResidentMeter& current();

  // Three quarters of the machine's physical memory (a run must leave room for the rest).
  static std::uint64_t default_limit();

  void set_limit(std::uint64_t bytes) { limit_ = bytes; }
  std::uint64_t limit() const { return limit_; }
  std::uint64_t held() const { return held_; }
  std::uint64_t peak() const { return peak_; }
  void reset_peak() { peak_ = held_; }

  // Throws ResidentLimitExceeded (and counts nothing) when the limit would be passed.
  void take(std::uint64_t bytes) {
    if (bytes > limit_ || held_ > limit_ - bytes) throw ResidentLimitExceeded(limit_, held_ + bytes);
    held_ += bytes;
    if (held_ > peak_) peak_ = held_;
  }
  void give(std::uint64_t bytes) { held_ -= bytes; }

 private:
  std::uint64_t limit_ = ~std::uint64_t{0};
  std::uint64_t held_ = 0;
  std::uint64_t peak_ = 0;
};

// Sets the current meter's limit for a scope, restoring the previous one after.
class ResidentLimitScope {
 public:
  explicit ResidentLimitScope(std::uint64_t limit) : saved_(ResidentMeter::current().limit()) {
    ResidentMeter::current().set_limit(limit);
  }
  ~ResidentLimitScope() { ResidentMeter::current().set_limit(saved_); }
  ResidentLimitScope(const ResidentLimitScope&) = delete;
  ResidentLimitScope& operator=(const ResidentLimitScope&) = delete;

 private:
  std::uint64_t saved_;
};

}  // namespace pprsim
