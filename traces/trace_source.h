// A trace that can be read from its start any number of times: one reader per allocator, per
// round, or to look an event up again after a run.
//
// A regular file is simply opened again each time. Anything else (a pipe, a FIFO, /dev/stdin,
// a character device) can be read only once, so the constructor copies it, once, into a private
// temporary file in $TMPDIR (or /tmp) that is unlinked as soon as it is made: nothing is left
// behind on any exit path, and memory stays bounded by the live objects, however long the trace.
// Every reader from open() names the trace by its own path in messages.
#pragma once

#include <memory>
#include <string>

#include "traces/trace_reader.h"

namespace pprsim {

class TraceSource {
 public:
  // Throws TraceError (line 0) when a trace that must be copied cannot be read or copied.
  // A regular file is not touched until open().
  explicit TraceSource(std::string path);

  // A fresh reader from the first event. Throws TraceError as open_trace() does.
  // Readers may outlive the source.
  std::unique_ptr<TraceReader> open() const;

  const std::string& path() const { return path_; }
  // Whether the trace was copied (it was not a regular file).
  bool spooled() const { return spool_ != nullptr; }

  class Spool;  // internal: the copy of a trace that could be read only once

 private:
  std::string path_;
  std::shared_ptr<const Spool> spool_;
};

}  // namespace pprsim
