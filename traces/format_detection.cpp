#include "traces/format_detection.h"

#include "traces/field_parser.h"

namespace pprsim {

TraceFormat detect_format(LineScanner& scanner) {
  std::string_view line;
  while (scanner.next(line)) {
    const Fields f = split_fields(strip_comment(line));
    if (f.count == 0) continue;  // blank or comment line
    if (f[0] == "pprtrace") return TraceFormat::Native;
    if (f.count == 1 && is_decimal(f[0])) return TraceFormat::CsApp;
    throw TraceError(scanner.name(), 0,
                     "unrecognised trace format: expected 'pprtrace 1' header or a CS:APP .rep "
                     "header");
  }
  throw TraceError(scanner.name(), 0,
                   "empty trace: expected header 'pprtrace 1' or a CS:APP .rep header");
}

}  // namespace pprsim
