// Streaming readers for every supported trace format. A reader yields one Event at a time and
// never holds the whole trace; what it keeps is bounded by the number of live objects.
#pragma once

#include <cstdint>
#include <istream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "traces/event.h"

namespace pprsim {

// Bad input. what() is one line: "FILE:LINE: message" (LINE omitted when 0).
class TraceError : public std::runtime_error {
 public:
  TraceError(std::string file, std::uint32_t line, const std::string& message);
  const std::string& file() const { return file_; }
  std::uint32_t line() const { return line_; }
  const std::string& message() const { return message_; }

 private:
  std::string file_;
  std::uint32_t line_;
  std::string message_;
};

enum class TraceFormat { Native, CsApp, Mtrace };

std::string_view format_name(TraceFormat f);

class TraceReader {
 public:
  virtual ~TraceReader() = default;
  // Reads the next event into `ev`; false at the end of the trace.
  // Throws TraceError on malformed or inconsistent input.
  virtual bool next(Event& ev) = 0;
  virtual TraceFormat format() const = 0;
  // The number of operations the file's header announces, if the format has one (0 otherwise).
  virtual std::uint64_t announced_operations() const { return 0; }
  // How far the reader is, for a progress line: bytes of input consumed, and the input's size
  // when it is a regular file (0 when unknown: a pipe, or a reader over a stream).
  virtual std::uint64_t bytes_read() const { return 0; }
  std::uint64_t total_bytes() const { return total_bytes_; }
  void set_total_bytes(std::uint64_t n) { total_bytes_ = n; }
  // Whether the format can carry PPR markers.
  virtual bool has_markers() const { return format() == TraceFormat::Native; }
  const std::string& name() const { return name_; }

  // Input the reader accepted but could not carry over exactly (mtrace: a free of an address
  // the trace never allocated, dropped). Counted, never fatal.
  static constexpr std::size_t kWarningSamples = 5;
  std::uint64_t warnings() const { return warnings_; }
  // The first kWarningSamples warnings, one line each: "FILE:LINE: message".
  const std::vector<std::string>& warning_samples() const { return warning_samples_; }

 protected:
  explicit TraceReader(std::string name) : name_(std::move(name)) {}
  void warn(std::uint32_t line, const std::string& message);
  std::string name_;

 private:
  std::uint64_t total_bytes_ = 0;
  std::uint64_t warnings_ = 0;
  std::vector<std::string> warning_samples_;
};

// Opens `path`, detecting the format from its content. Throws TraceError (line 0) when the file
// cannot be opened or its format is not recognised.
std::unique_ptr<TraceReader> open_trace(const std::string& path);

// Readers over an already open stream; `name` is used in error messages. They read the header
// at once, so a missing or bad header throws here. The stream must outlive the reader.
std::unique_ptr<TraceReader> read_native(std::istream& in, std::string name);
std::unique_ptr<TraceReader> read_csapp(std::istream& in, std::string name);
std::unique_ptr<TraceReader> read_mtrace(std::istream& in, std::string name);

}  // namespace pprsim
