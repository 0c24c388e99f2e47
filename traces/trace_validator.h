// TraceValidator: the semantic rules every trace format obeys, checked event by event while a
// reader streams. Its memory is bounded by the number of live objects.
#pragma once

#include <cstdint>
#include <string>

#include "traces/event.h"
#include "traces/id_map.h"

namespace pprsim {

// Object ids index a handle table: 0 .. kMaxObjectId (and -1 for free(NULL)).
inline constexpr std::int64_t kMaxObjectId = (std::int64_t{1} << 28) - 1;
// Largest size, calloc product or alignment a trace may ask for.
inline constexpr std::uint64_t kMaxObjectBytes = std::uint64_t{1} << 40;

class TraceValidator {
 public:
  // `file` names the trace in error messages.
  explicit TraceValidator(std::string file) : file_(std::move(file)) {}

  // Checks `ev` (reporting errors at ev.line) and applies it to the set of live objects.
  void check(const Event& ev);

  // End of the trace at `last_line`: an open PPR instance is an error.
  void finish(std::uint32_t last_line) const;

  bool is_live(std::int64_t id) const { return live_.contains(id); }
  std::size_t live_objects() const { return live_.size(); }
  bool in_instance() const { return in_instance_; }

 private:
  [[noreturn]] void fail(const Event& ev, const std::string& message) const;
  void check_id(const Event& ev) const;
  void check_bytes(const Event& ev, std::uint64_t value, const char* what) const;
  // The sizes of an allocation (malloc, calloc, memalign, realloc).
  void check_allocation(const Event& ev) const;
  [[noreturn]] void fail_live(const Event& ev) const;
  void check_access(const Event& ev) const;

  std::string file_;
  IdMap<std::uint64_t> live_;  // live id -> current size in bytes
  bool in_instance_ = false;
  std::uint32_t instance_line_ = 0;  // line of the open 'ppr'
};

}  // namespace pprsim
