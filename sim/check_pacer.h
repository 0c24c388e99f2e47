// When the oracle checks MAIN's heap, and which checks are full (docs/DESIGN.md section 3.6):
// a check every `check_every` sequential events and after every group; every
// `full_check_every`-th one is full once enough events ran since the last full one to pay for
// it (one per live object, plus one per kBytesPerEvent bytes the last full check read), so that
// spread over those events a full check costs a bounded share of theirs, however large the heap.
// The last check of a run is always full; full_check_every 1 makes every check full.
#pragma once

#include <cstdint>

namespace pprsim {

class CheckPacer {
 public:
  static constexpr std::uint64_t kBytesPerEvent = 256;

  CheckPacer(std::uint64_t check_every, std::uint64_t full_check_every)
      : check_every_(check_every), full_check_every_(full_check_every) {}

  // A sequential event ran; true when a check is due.
  bool sequential_event() {
    ++since_full_;
    return ++since_check_ >= check_every_;
  }
  // An event of a group ran (the check after the group is due anyway).
  void group_event() { ++since_full_; }

  // A check starts now, with `live_objects` objects in the heap: whether it is full.
  bool start_check(bool final, std::uint64_t live_objects) {
    since_check_ = 0;
    ++checks_since_full_;
    const bool full = final || full_check_every_ <= 1 ||
                      (checks_since_full_ >= full_check_every_ &&
                       since_full_ >= live_objects + full_check_bytes_ / kBytesPerEvent);
    if (full) {
      checks_since_full_ = 0;
      since_full_ = 0;
    }
    return full;
  }
  // The full check that started read `live_bytes` bytes.
  void full_check_read(std::uint64_t live_bytes) { full_check_bytes_ = live_bytes; }

 private:
  std::uint64_t check_every_;
  std::uint64_t full_check_every_;
  std::uint64_t since_check_ = 0;       // sequential events since the last check
  std::uint64_t checks_since_full_ = 0;
  std::uint64_t since_full_ = 0;        // events since the last full check
  std::uint64_t full_check_bytes_ = 0;  // the live bytes the last full check read
};

}  // namespace pprsim
