#include "sim/trace_cut.h"

namespace pprsim {

TraceCut::TraceCut(int group_size, std::uint64_t ppr_every, Sequential sequential, Group group)
    : group_size_(static_cast<std::size_t>(group_size)),
      ppr_every_(ppr_every),
      every_(ppr_every),
      sequential_(std::move(sequential)),
      group_(std::move(group)) {}

void TraceCut::push(const Event& e) {
  if (group_size_ == 1) {
    if (is_operation(e.op)) sequential_(e);
    return;
  }
  if (ppr_every_ > 0) {
    if (!is_operation(e.op)) return;
    current_.push_back(e);
    if (every_.ends_instance(e)) close_instance();
  } else if (e.op == Op::PprBegin) {
    inside_ = true;
  } else if (e.op == Op::PprEnd) {
    inside_ = false;
    close_instance();
  } else if (inside_) {
    current_.push_back(e);
  } else {
    flush();
    sequential_(e);
  }
}

void TraceCut::finish() {
  if (!current_.empty()) instances_.push_back(std::move(current_));
  current_.clear();
  flush();
}

void TraceCut::close_instance() {
  instances_.push_back(std::move(current_));
  current_.clear();
  if (instances_.size() == group_size_) flush();
}

void TraceCut::flush() {
  if (!instances_.empty()) group_(instances_);
  instances_.clear();
}

}  // namespace pprsim
