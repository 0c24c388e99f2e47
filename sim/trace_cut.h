// Cutting a trace into what runs where (docs/DESIGN.md section 1): events outside every PPR run
// sequentially in MAIN; PPR instances (between ppr/end markers, or every N allocator events with
// --ppr-every N, markers then ignored) are gathered into groups of G. One rule, for the replay
// and for the minimizer's explicit markers (props/minimize.h).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "traces/event.h"

namespace pprsim {

using Instance = std::vector<Event>;

// --ppr-every N: an instance ends with its N-th allocator call (reads and writes of the program
// go with the instance they fall in).
class PprEvery {
 public:
  explicit PprEvery(std::uint64_t n) : n_(n) {}
  // `e`, an operation, joins the current instance; true when it is the instance's last.
  bool ends_instance(const Event& e) {
    if (!is_allocator_op(e.op) || ++ops_ != n_) return false;
    ops_ = 0;
    return true;
  }

 private:
  std::uint64_t n_;
  std::uint64_t ops_ = 0;
};

class TraceCut {
 public:
  using Sequential = std::function<void(const Event&)>;
  using Group = std::function<void(std::vector<Instance>&)>;

  // group_size 1: every operation is sequential (no groups); ppr_every 0: the trace's markers.
  TraceCut(int group_size, std::uint64_t ppr_every, Sequential sequential, Group group);

  // The next event of the trace: runs what it completes (a group that ended before it, itself
  // when it is sequential, a group it completes).
  void push(const Event& e);
  // The end of the trace: runs the group in progress, an unclosed instance included.
  void finish();

 private:
  void close_instance();
  void flush();

  std::size_t group_size_;
  std::uint64_t ppr_every_;
  PprEvery every_;
  Sequential sequential_;
  Group group_;
  Instance current_;
  std::vector<Instance> instances_;
  bool inside_ = false;
};

}  // namespace pprsim
