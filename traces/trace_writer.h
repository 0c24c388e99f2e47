// TraceWriter: prints events in the native "pprtrace 1" format, one canonical line each.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "traces/event.h"

namespace pprsim {

// The canonical native line for `ev`, without a newline: "a 3 16", "c 4 2 8", "m 5 64 100",
// "r 3 32", "f -1", "w 3 0 8", "u 3 0 8", "ppr", "end". The event's `line` is not printed.
std::string format_event(const Event& ev);

class TraceWriter {
 public:
  // Writes the header "pprtrace 1", preceded by `comment` as "# " lines when it is not empty.
  explicit TraceWriter(std::ostream& out, std::string_view comment = {});

  // Writes one event line.
  void write(const Event& ev);

  // Writes `text` as "# " comment lines, one per line of text. Control characters and invalid
  // UTF-8 become '?' and over-long lines are cut, so that the readers accept the result.
  void comment(std::string_view text);

  // Lines written so far (header and comments included): the next event goes on line
  // lines_written() + 1.
  std::uint64_t lines_written() const { return lines_; }

 private:
  std::ostream& out_;
  std::uint64_t lines_ = 0;
};

}  // namespace pprsim
