// The one-line progress display of the long commands (replay, fuzz, shrink): redrawn in place
// on standard error, at most ten times a second, only when standard error is a terminal and the
// user did not ask for quiet. It never reaches standard output, a pipe or a file, and nothing it
// shows decides a result (it is the only place that reads the clock for display).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace pprsim {

class ProgressLine {
 public:
  // Shows nothing when `quiet` or when standard error is not a terminal.
  explicit ProgressLine(bool quiet);
  ~ProgressLine() { clear(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  bool enabled() const { return enabled_; }
  // Seconds since the line was made.
  double elapsed() const;
  // Whether show() would draw now (a caller can skip formatting the text when not).
  bool due() const;
  // Redraws the line with `text`, cut to the terminal's width, unless it was drawn less than
  // 0.1 s ago (`force`: always).
  void show(std::string_view text, bool force = false);
  // Removes the line, so that what is printed next starts on a clean line.
  void clear();

 private:
  static constexpr std::chrono::milliseconds kRedraw{100};
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_{};
};

// The longest start of `text` that fills at most `columns` columns (a column a character;
// UTF-8 sequences are kept whole).
std::string_view fit_columns(std::string_view text, std::size_t columns);

// `count` per second over `seconds` as "850", "12.3k" or "1.4M" (empty for no time), and
// "~1m05s left" once `done` of `total` took `seconds` (empty when the total is unknown or
// nothing is done yet).
std::string rate_text(double count, double seconds);
std::string time_left(double done, double total, double seconds);

}  // namespace pprsim
