// LineScanner: reads a trace stream line by line through one large buffer, with no allocation
// per line, and checks every line before handing it out: at most kMaxLineBytes bytes, no NUL or
// other control characters (tab is allowed), valid UTF-8. Also the field splitter the text
// formats share.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <istream>
#include <memory>
#include <string>
#include <string_view>

namespace pprsim {

class LineScanner {
 public:
  static constexpr std::size_t kMaxLineBytes = 4096;

  // `name` is the file name used in error messages.
  LineScanner(std::istream& in, std::string name);

  // The next line without its terminator ("\n" or "\r\n"); false at the end of the input.
  // The view stays valid until the next call. Throws TraceError on a bad line.
  bool next(std::string_view& line);

  // Bytes of the input handed out as lines so far, terminators included (for progress).
  std::uint64_t bytes_consumed() const { return filled_ - (end_ - begin_); }

  // 1-based number of the line last returned (0 before the first).
  std::uint32_t line_number() const { return line_; }
  const std::string& name() const { return name_; }

  // Hands out the line last returned once more, at the next call to next(), with its number:
  // a reader can start at the line where the format was recognised, even on a pipe that
  // cannot seek. requires: next() returned true last, and unread() was not called since.
  void unread();

  // Throws TraceError for the line last returned.
  [[noreturn]] void fail(const std::string& message) const;

 private:
  void refill();
  void check_bytes(std::string_view line) const;

  std::istream* in_;
  std::string name_;
  std::unique_ptr<char[]> buf_;
  std::size_t begin_ = 0;  // start of the unread data in buf_
  std::size_t end_ = 0;    // end of the data in buf_
  std::size_t last_ = 0;   // start of the line last returned in buf_
  bool eof_ = false;
  std::uint32_t line_ = 0;
  std::uint64_t filled_ = 0;  // bytes read from the stream into buf_, ever
};

// The whitespace-separated fields of a line (space or tab). Keeps the first kMax fields and
// counts all of them, so that "too many fields" can be reported.
struct Fields {
  static constexpr std::size_t kMax = 5;
  std::array<std::string_view, kMax> field{};
  std::size_t count = 0;

  std::string_view operator[](std::size_t i) const { return field[i]; }
};

Fields split_fields(std::string_view line);

// The part of a line before a '#' comment.
std::string_view strip_comment(std::string_view line);

// Length of the valid UTF-8 sequence starting at s[i] (a byte >= 0x80), or 0 when invalid.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

// A token quoted for an error message, shortened when long: 'abc'.
std::string quote_token(std::string_view token);

}  // namespace pprsim
