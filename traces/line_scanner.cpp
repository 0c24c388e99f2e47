#include "traces/line_scanner.h"

#include <fmt/format.h>

#include <cstring>
#include <limits>

#include "traces/trace_reader.h"

namespace pprsim {
namespace {

constexpr std::size_t kBufferBytes = std::size_t{1} << 18;
static_assert(kBufferBytes > 2 * LineScanner::kMaxLineBytes);

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  auto at = [&](std::size_t k) -> unsigned char {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0;
  };
  const unsigned char c = at(0);
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  std::size_t len = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlong forms
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (at(1) < lo || at(1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k)
    if (!is_continuation(at(k))) return 0;
  return len;
}

LineScanner::LineScanner(std::istream& in, std::string name)
    : in_(&in), name_(std::move(name)), buf_(new char[kBufferBytes]) {}

void LineScanner::fail(const std::string& message) const {
  throw TraceError(name_, line_, message);
}

void LineScanner::refill() {
  if (begin_ > 0) {
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  in_->read(buf_.get() + end_, static_cast<std::streamsize>(kBufferBytes - end_));
  const auto got = static_cast<std::size_t>(in_->gcount());
  if (in_->bad()) throw TraceError(name_, line_, "read error");
  end_ += got;
  filled_ += got;
  if (got == 0 || !*in_) eof_ = true;
}

bool LineScanner::next(std::string_view& line) {
  const char* data = buf_.get();
  for (;;) {
    const std::size_t avail = end_ - begin_;
    const void* nl = std::memchr(data + begin_, '\n', avail);
    if (nl != nullptr) {
      const auto pos = static_cast<std::size_t>(static_cast<const char*>(nl) - data);
      line = std::string_view(data + begin_, pos - begin_);
      last_ = begin_;
      begin_ = pos + 1;
      break;
    }
    if (eof_) {
      if (avail == 0) return false;
      line = std::string_view(data + begin_, avail);
      last_ = begin_;
      begin_ = end_;
      break;
    }
    if (avail > kMaxLineBytes + 1) {  // +1: room for a '\r' before the '\n'
      if (line_ != std::numeric_limits<std::uint32_t>::max()) ++line_;
      fail(fmt::format("line longer than {} bytes", kMaxLineBytes));
    }
    refill();
    data = buf_.get();
  }
  if (line_ == std::numeric_limits<std::uint32_t>::max()) fail("too many lines");
  ++line_;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > kMaxLineBytes) fail(fmt::format("line longer than {} bytes", kMaxLineBytes));
  check_bytes(line);
  return true;
}

namespace {

// Whether all eight bytes of w are printable ASCII (0x20..0x7E). A byte below 0x20 borrows
// into its high bit when 0x20 is taken from it; one above 0x7E has its high bit set once 1 is
// added, or had it already. Either way the first such byte flags the word.
bool all_printable(std::uint64_t w) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHigh = 0x8080808080808080ull;
  const std::uint64_t below = (w - 0x20 * kOnes) & ~w & kHigh;
  const std::uint64_t above = ((w + kOnes) | w) & kHigh;
  return (below | above) == 0;
}

}  // namespace

void LineScanner::check_bytes(std::string_view line) const {
  // Eight bytes at a time while they are all printable ASCII, the common case; from the first
  // word that is not, one character at a time.
  std::size_t start = 0;
  for (std::uint64_t w = 0; start + 8 <= line.size(); start += 8) {
    std::memcpy(&w, line.data() + start, 8);
    if (!all_printable(w)) break;
  }
  for (std::size_t i = start; i < line.size();) {
    const auto c = static_cast<unsigned char>(line[i]);
    if ((c >= 0x20 && c < 0x7F) || c == '\t') {
      ++i;
      continue;
    }
    if (c < 0x80 || c == 0x7F)
      fail(fmt::format("control character 0x{:02x} at column {}: expected text", c, i + 1));
    const std::size_t len = utf8_sequence_length(line, i);
    if (len == 0) fail(fmt::format("invalid UTF-8 byte 0x{:02x} at column {}", c, i + 1));
    i += len;
  }
}

void LineScanner::unread() {
  begin_ = last_;
  --line_;
}

Fields split_fields(std::string_view line) {
  Fields f;
  const char* p = line.data();
  const char* const end = p + line.size();
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  for (;;) {
    while (p != end && blank(*p)) ++p;
    if (p == end) break;
    const char* start = p;
    while (p != end && !blank(*p)) ++p;
    if (f.count < Fields::kMax) f.field[f.count] = std::string_view(start, static_cast<std::size_t>(p - start));
    ++f.count;
  }
  return f;
}

std::string_view strip_comment(std::string_view line) {
  const std::size_t hash = line.find('#');
  return hash == std::string_view::npos ? line : line.substr(0, hash);
}

std::string quote_token(std::string_view token) {
  constexpr std::size_t kShown = 40;
  if (token.size() <= kShown) return fmt::format("'{}'", token);
  // Cut at a character boundary so the message stays valid UTF-8.
  std::size_t cut = kShown;
  while (cut > 0 && (static_cast<unsigned char>(token[cut]) & 0xC0) == 0x80) --cut;
  return fmt::format("'{}...'", token.substr(0, cut));
}

}  // namespace pprsim
