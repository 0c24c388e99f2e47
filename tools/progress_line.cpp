#include "tools/progress_line.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>

#include <sys/ioctl.h>
#include <unistd.h>

namespace pprsim {

ProgressLine::ProgressLine(bool quiet)
    : enabled_(!quiet && ::isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()) {}

double ProgressLine::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

bool ProgressLine::due() const {
  return enabled_ && (!shown_ || std::chrono::steady_clock::now() - last_ >= kRedraw);
}

void ProgressLine::show(std::string_view text, bool force) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && shown_ && now - last_ < kRedraw) return;
  last_ = now;
  shown_ = true;
  // One line of the terminal as it is now (it may have been resized): a longer text would wrap,
  // and the next redraw would only clear its last row.
  winsize ws{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1) text = fit_columns(text, ws.ws_col - 1u);
  fmt::print(stderr, "\r\033[K{}", text);
  std::fflush(stderr);
}

std::string_view fit_columns(std::string_view text, std::size_t columns) {
  std::size_t shown = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte & 0xC0) == 0x80) continue;  // a UTF-8 continuation byte: same column
    if (shown == columns) return text.substr(0, i);
    ++shown;
  }
  return text;
}

void ProgressLine::clear() {
  if (!enabled_ || !shown_) return;
  fmt::print(stderr, "\r\033[K");
  std::fflush(stderr);
  shown_ = false;
}

std::string rate_text(double count, double seconds) {
  if (seconds <= 0) return "";
  const double r = count / seconds;
  if (r >= 1e6) return fmt::format("{:.1f}M", r / 1e6);
  if (r >= 1e3) return fmt::format("{:.1f}k", r / 1e3);
  return fmt::format("{:.0f}", r);
}

std::string time_left(double done, double total, double seconds) {
  if (done <= 0 || total <= done || seconds <= 0) return "";
  const double left = seconds * (total - done) / done;
  if (!std::isfinite(left)) return "";
  const auto s = static_cast<std::uint64_t>(left + 0.5);
  if (s >= 3600) return fmt::format("~{}h{:02}m left", s / 3600, s / 60 % 60);
  if (s >= 60) return fmt::format("~{}m{:02}s left", s / 60, s % 60);
  return fmt::format("~{}s left", s);
}

}  // namespace pprsim
