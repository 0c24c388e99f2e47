// Internal: recognising a trace's format from its first lines. The one place to extend when a
// format is added.
#pragma once

#include "traces/line_scanner.h"
#include "traces/trace_reader.h"

namespace pprsim {

// Reads lines from `scanner` until the format is known and returns it (the caller unreads the line that showed it).
// Throws TraceError (line 0) for an empty or unrecognised trace.
TraceFormat detect_format(LineScanner& scanner);

}  // namespace pprsim
