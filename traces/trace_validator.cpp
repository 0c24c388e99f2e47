#include "traces/trace_validator.h"

#include <fmt/format.h>

#include "traces/trace_reader.h"

namespace pprsim {

void TraceValidator::fail(const Event& ev, const std::string& message) const {
  throw TraceError(file_, ev.line, message);
}

void TraceValidator::check_id(const Event& ev) const {
  if (ev.op == Op::Free && ev.id == -1) return;
  if (ev.id < 0 || ev.id > kMaxObjectId)
    fail(ev, fmt::format("id {} out of range: expected 0 .. {}{}", ev.id, kMaxObjectId,
                         ev.op == Op::Free ? " (or -1 for free(NULL))" : ""));
}

void TraceValidator::check_bytes(const Event& ev, std::uint64_t value, const char* what) const {
  if (value > kMaxObjectBytes)
    fail(ev, fmt::format("{} {} exceeds the limit of 2^40 bytes", what, value));
}

void TraceValidator::check_allocation(const Event& ev) const {
  check_bytes(ev, ev.size, "size");
  if (ev.op == Op::Calloc) {
    check_bytes(ev, ev.count, "count");
    if (ev.size != 0 && ev.count > kMaxObjectBytes / ev.size)
      fail(ev, fmt::format("calloc of {} * {} bytes exceeds the limit of 2^40 bytes", ev.count,
                           ev.size));
  }
  if (ev.op == Op::Memalign) {
    if (ev.align == 0 || (ev.align & (ev.align - 1)) != 0)
      fail(ev, fmt::format("alignment {} is not a power of two", ev.align));
    check_bytes(ev, ev.align, "alignment");
  }
}

void TraceValidator::fail_live(const Event& ev) const {
  fail(ev, fmt::format("{} of id {}, which is already live: expected a free id (free it first)",
                       call_name(ev.op), ev.id));
}

void TraceValidator::check_access(const Event& ev) const {
  const std::uint64_t* size = live_.find(ev.id);
  if (size == nullptr) {
    const char* what = ev.op == Op::Free ? "free of" : ev.op == Op::Write ? "write to" : "use of";
    fail(ev, fmt::format("{} unknown id {}: expected the id of a live object", what, ev.id));
  }
  if (ev.op == Op::Free) return;
  const std::uint64_t object = *size;
  if (ev.size > object || ev.offset > object - ev.size)
    fail(ev, fmt::format("{} of {} bytes at offset {} goes beyond the end of object {} ({} bytes)",
                         call_name(ev.op), ev.size, ev.offset, ev.id, object));
}

void TraceValidator::check(const Event& ev) {
  switch (ev.op) {
    case Op::PprBegin:
      if (in_instance_)
        fail(ev, fmt::format("'ppr' inside a PPR instance (begun at line {}): expected 'end' first",
                             instance_line_));
      in_instance_ = true;
      instance_line_ = ev.line;
      return;
    case Op::PprEnd:
      if (!in_instance_) fail(ev, "'end' without a matching 'ppr'");
      in_instance_ = false;
      return;
    case Op::Malloc:
    case Op::Calloc:
    case Op::Memalign:
      check_id(ev);
      check_allocation(ev);
      // One lookup: an id already live is not inserted again, and the trace is refused.
      if (!live_.try_emplace(ev.id, requested_bytes(ev)).second) fail_live(ev);
      return;
    case Op::Realloc:
      check_id(ev);
      check_allocation(ev);
      // realloc(p, 0) frees p (glibc); realloc(NULL, SIZE) is malloc(SIZE), even for SIZE 0.
      if (ev.size == 0 && is_live(ev.id))
        live_.erase(ev.id);
      else
        live_[ev.id] = ev.size;
      return;
    case Op::Free:
      check_id(ev);
      if (ev.id == -1) return;
      if (!live_.erase(ev.id)) check_access(ev);  // not live: check_access names it
      return;
    case Op::Write:
    case Op::Use:
      check_id(ev);
      check_access(ev);
      return;
  }
  fail(ev, "unknown event");
}

void TraceValidator::finish(std::uint32_t last_line) const {
  if (in_instance_)
    throw TraceError(file_, last_line,
                     fmt::format("end of trace inside a PPR instance (begun at line {}): "
                                 "expected 'end'",
                                 instance_line_));
}

}  // namespace pprsim
