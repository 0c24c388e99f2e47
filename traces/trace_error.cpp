// TraceError, format_name and the warning count: the small pieces of trace_reader.h that are
// not a reader.
#include <utility>

#include "traces/trace_reader.h"

namespace pprsim {
namespace {

std::string compose(const std::string& file, std::uint32_t line, const std::string& message) {
  std::string s = file;
  if (line != 0) {
    s += ':';
    s += std::to_string(line);
  }
  s += ": ";
  s += message;
  return s;
}

}  // namespace

TraceError::TraceError(std::string file, std::uint32_t line, const std::string& message)
    : std::runtime_error(compose(file, line, message)),
      file_(std::move(file)),
      line_(line),
      message_(message) {}

std::string_view format_name(TraceFormat f) {
  switch (f) {
    case TraceFormat::Native:
      return "native";
    case TraceFormat::CsApp:
      return "cs-app";
    case TraceFormat::Mtrace:
      return "mtrace";
  }
  return "unknown";
}

void TraceReader::warn(std::uint32_t line, const std::string& message) {
  ++warnings_;
  if (warning_samples_.size() < kWarningSamples)
    warning_samples_.push_back(compose(name_, line, message));
}

}  // namespace pprsim
