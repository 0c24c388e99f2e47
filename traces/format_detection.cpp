#include "traces/format_detection.h"

#include "traces/field_parser.h"

namespace pprsim {
namespace {

// A line of glibc's mtrace output: "= Start", "@ CALLER OP ...", or an operation written without
// a caller ("+ 0x55d0c1e4 0x20", "- 0x55d0c1e4", ...).
bool is_mtrace_line(const Fields& f) {
  if (f[0] == "=") return f.count == 2 && (f[1] == "Start" || f[1] == "End");
  if (f[0] == "@") return f.count >= 2;  // the caller may hold a '#', cut as a comment here
  if (f[0].size() != 1 || (f.count != 2 && f.count != 3)) return false;
  const char op = f[0][0];
  if (op != '+' && op != '-' && op != '<' && op != '>' && op != '!') return false;
  return f[1].substr(0, 2) == "0x" || f[1] == "(nil)";
}

}  // namespace

TraceFormat detect_format(LineScanner& scanner) {
  std::string_view line;
  while (scanner.next(line)) {
    const Fields f = split_fields(strip_comment(line));
    if (f.count == 0) continue;  // blank or comment line
    if (f[0] == "pprtrace") return TraceFormat::Native;
    if (f.count == 1 && is_decimal(f[0])) return TraceFormat::CsApp;
    if (is_mtrace_line(f)) return TraceFormat::Mtrace;
    throw TraceError(scanner.name(), scanner.line_number(),
                     "unrecognised trace format: expected 'pprtrace 1' header or a CS:APP .rep "
                     "header, or glibc mtrace output ('= Start')");
  }
  throw TraceError(scanner.name(), 0,
                   "empty trace: expected header 'pprtrace 1', a CS:APP .rep header or glibc "
                   "mtrace output ('= Start')");
}

}  // namespace pprsim
