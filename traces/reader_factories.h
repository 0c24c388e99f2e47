// Internal: constructors of the concrete readers over a LineScanner. `owned` (may be null) is
// the stream the scanner reads; the reader keeps it alive. They read the header at once, so a
// bad header throws here.
#pragma once

#include <istream>
#include <memory>

#include "traces/line_scanner.h"
#include "traces/trace_reader.h"

namespace pprsim {

std::unique_ptr<TraceReader> make_native_reader(std::unique_ptr<std::istream> owned,
                                                LineScanner scanner);
std::unique_ptr<TraceReader> make_csapp_reader(std::unique_ptr<std::istream> owned,
                                               LineScanner scanner);
std::unique_ptr<TraceReader> make_mtrace_reader(std::unique_ptr<std::istream> owned,
                                                LineScanner scanner);

// The reader of the format `in`'s content shows; `name` in messages, `size` the input's length
// when known (0 otherwise), for progress.
std::unique_ptr<TraceReader> open_trace_stream(std::unique_ptr<std::istream> in, const std::string& name,
                                               std::uint64_t size);

}  // namespace pprsim
