// The native reader against the writer: a RapidCheck round trip over random valid traces, and
// robustness against arbitrary bytes.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "traces/line_scanner.h"
#include "traces/trace_reader.h"
#include "traces/trace_validator.h"
#include "traces/trace_writer.h"

namespace pprsim {
namespace {

// Uniform in [lo, hi) whatever RapidCheck's current size (inRange alone scales with the size).
template <typename T>
T uniform(T lo, T hi) {
  return *rc::gen::resize(100, rc::gen::inRange<T>(lo, hi));
}

// A random trace that obeys every rule of the validator.
class TraceModel {
 public:
  std::vector<Event> generate() {
    const int steps = *rc::gen::inRange(0, 120);
    for (int i = 0; i < steps; ++i) step();
    if (in_instance_) push(Event{Op::PprEnd});
    return std::move(events_);
  }

 private:
  void step() {
    switch (uniform(0, 9)) {
      case 0:
        push(Event{in_instance_ ? Op::PprEnd : Op::PprBegin});
        in_instance_ = !in_instance_;
        break;
      case 1:
        allocate(Op::Malloc);
        break;
      case 2:
        allocate(Op::Calloc);
        break;
      case 3:
        allocate(Op::Memalign);
        break;
      case 4:
        reallocate();
        break;
      case 5:
        release();
        break;
      case 6:
        access(Op::Write);
        break;
      case 7:
        access(Op::Use);
        break;
      default:
        allocate(Op::Malloc);
        break;
    }
  }

  static std::int64_t any_id() {
    return *rc::gen::oneOf(rc::gen::inRange<std::int64_t>(0, 16),
                           rc::gen::inRange<std::int64_t>(0, kMaxObjectId + 1));
  }
  static std::uint64_t any_size() {
    return *rc::gen::oneOf(rc::gen::inRange<std::uint64_t>(0, 4097),
                           rc::gen::inRange<std::uint64_t>(0, kMaxObjectBytes + 1));
  }

  void allocate(Op op) {
    Event ev{op};
    ev.id = any_id();
    if (live_index(ev.id) >= 0) return;
    if (op == Op::Calloc) {
      ev.count = *rc::gen::inRange<std::uint64_t>(0, std::uint64_t{1} << 20);
      ev.size = *rc::gen::inRange<std::uint64_t>(
          0, kMaxObjectBytes / std::max<std::uint64_t>(ev.count, 1) + 1);
    } else {
      ev.size = any_size();
    }
    if (op == Op::Memalign) ev.align = std::uint64_t{1} << uniform(0, 41);
    live_.emplace_back(ev.id, requested_bytes(ev));
    push(ev);
  }

  void reallocate() {
    Event ev{Op::Realloc};
    const bool use_live = !live_.empty() && *rc::gen::arbitrary<bool>();
    ev.id = use_live ? pick_live().first : any_id();
    ev.size =
        *rc::gen::oneOf(rc::gen::just<std::uint64_t>(0), rc::gen::inRange<std::uint64_t>(0, 4097));
    const long i = live_index(ev.id);
    if (i >= 0 && ev.size == 0)
      live_.erase(live_.begin() + i);
    else if (i >= 0)
      live_[static_cast<std::size_t>(i)].second = ev.size;
    else
      live_.emplace_back(ev.id, ev.size);
    push(ev);
  }

  void release() {
    Event ev{Op::Free};
    if (live_.empty() || uniform(0, 8) == 0) {
      ev.id = -1;
    } else {
      ev.id = pick_live().first;
      live_.erase(live_.begin() + live_index(ev.id));
    }
    push(ev);
  }

  void access(Op op) {
    if (live_.empty()) return;
    const auto [id, size] = pick_live();
    Event ev{op};
    ev.id = id;
    ev.size = *rc::gen::inRange<std::uint64_t>(0, size + 1);
    ev.offset = *rc::gen::inRange<std::uint64_t>(0, size - ev.size + 1);
    push(ev);
  }

  std::pair<std::int64_t, std::uint64_t> pick_live() {
    return live_[uniform<std::size_t>(0, live_.size())];
  }
  long live_index(std::int64_t id) const {
    for (std::size_t i = 0; i < live_.size(); ++i)
      if (live_[i].first == id) return static_cast<long>(i);
    return -1;
  }
  void push(const Event& ev) { events_.push_back(ev); }

  std::vector<Event> events_;
  std::vector<std::pair<std::int64_t, std::uint64_t>> live_;  // in order, for determinism
  bool in_instance_ = false;
};

std::vector<Event> native_events(const std::string& text) {
  std::istringstream in(text);
  auto reader = read_native(in, "roundtrip.trace");
  std::vector<Event> events;
  Event ev;
  while (reader->next(ev)) events.push_back(ev);
  return events;
}

RC_GTEST_PROP(TraceRoundTrip, WriterThenNativeReaderGivesTheSameEvents, ()) {
  const std::vector<Event> events = TraceModel().generate();
  const std::string comment = *rc::gen::element<std::string>("", "generated", "two\nlines # x");
  std::ostringstream out;
  TraceWriter writer(out, comment);
  const std::uint64_t header_lines = writer.lines_written();
  for (const Event& ev : events) writer.write(ev);

  const std::vector<Event> back = native_events(out.str());
  RC_ASSERT(back.size() == events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    Event got = back[i];
    RC_ASSERT(got.line == header_lines + i + 1);
    got.line = 0;
    RC_ASSERT(got == events[i]);
  }
}

// Arbitrary bytes after a valid header: the reader yields events or throws TraceError, nothing
// else.
RC_GTEST_PROP(TraceRobustness, ArbitraryBytesGiveEventsOrATraceError, (const std::string& body)) {
  try {
    native_events("pprtrace 1\n" + body);
  } catch (const TraceError& e) {
    RC_ASSERT(std::string(e.what()).rfind("roundtrip.trace", 0) == 0);
  }
}

// A valid trace with one byte changed: events or a TraceError naming a line of the file.
RC_GTEST_PROP(TraceRobustness, CorruptedTraceGivesEventsOrATraceError, ()) {
  std::ostringstream out;
  TraceWriter writer(out);
  for (const Event& ev : TraceModel().generate()) writer.write(ev);
  std::string text = out.str();
  const auto pos = *rc::gen::inRange<std::size_t>(0, text.size());
  text[pos] = *rc::gen::arbitrary<char>();
  try {
    native_events(text);
  } catch (const TraceError& e) {
    RC_ASSERT(e.line() <= writer.lines_written() + 1);
  }
}

// The scanner checks a line's bytes eight at a time while they are printable ASCII: what it
// accepts and the error it gives must be those of one byte at a time (tab, and valid UTF-8,
// accepted; the first other control byte, DEL or invalid UTF-8 named by its column).
RC_GTEST_PROP(LineScanner, ChecksBytesAsOneAtATimeWould, ()) {
  // Mostly printable, with the bytes at each edge of the accepted ranges and some UTF-8.
  const std::vector<std::string> pieces{"a", " ", "7", "~", "\t", std::string(1, '\0'), "\x1f", "\x7f", "\x80",
                                        "\xff", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc3", "\xed\xa0\x80"};
  const auto picks = *rc::gen::container<std::vector<int>>(
      rc::gen::weightedOneOf<int>({{40, rc::gen::inRange(0, 4)}, {1, rc::gen::inRange(4, 15)}}));
  std::string line;
  for (const int k : picks) line += pieces[static_cast<std::size_t>(k)];
  if (line.size() > 200) line.resize(200);
  std::string want;  // the error one byte at a time gives, or "" when it accepts the line
  for (std::size_t i = 0; i < line.size() && want.empty();) {
    const auto c = static_cast<unsigned char>(line[i]);
    if ((c >= 0x20 && c < 0x7F) || c == '\t') {
      ++i;
    } else if (c < 0x80 || c == 0x7F) {
      want = fmt::format("control character 0x{:02x} at column {}", c, i + 1);
    } else if (const std::size_t len = utf8_sequence_length(line, i); len == 0) {
      want = fmt::format("invalid UTF-8 byte 0x{:02x} at column {}", c, i + 1);
    } else {
      i += len;
    }
  }
  std::istringstream in(line + "\n");
  LineScanner scanner(in, "t");
  std::string got;
  try {
    std::string_view read;
    RC_ASSERT(scanner.next(read));
    RC_ASSERT(read == std::string_view(line));
  } catch (const TraceError& e) {
    got = e.what();
  }
  if (want.empty()) {
    RC_ASSERT(got.empty());
  } else {
    RC_ASSERT(got.find(want) != std::string::npos);
  }
}

TEST(NativeReader, ParsesEveryEventKindWithComments) {
  const auto events = native_events(
      "# a comment before the header\n"
      "\n"
      "pprtrace 1   # trailing comment\n"
      "ppr\n"
      "a 3 16\r\n"
      "c 4 2 8\n"
      "\tm 5 64 100\n"
      "w 3 0 8 # write\n"
      "u 4 8 8\n"
      "r 3 32\n"
      "r 9 0\n"
      "f -1\n"
      "end\n"
      "f 3\n");
  ASSERT_EQ(events.size(), 11u);
  EXPECT_EQ(events[0], (Event{Op::PprBegin, 0, 0, 0, 0, 0, 4}));
  EXPECT_EQ(events[1], (Event{Op::Malloc, 3, 16, 0, 0, 0, 5}));
  EXPECT_EQ(events[2], (Event{Op::Calloc, 4, 8, 2, 0, 0, 6}));
  EXPECT_EQ(events[3], (Event{Op::Memalign, 5, 100, 0, 64, 0, 7}));
  EXPECT_EQ(events[4], (Event{Op::Write, 3, 8, 0, 0, 0, 8}));
  EXPECT_EQ(events[5], (Event{Op::Use, 4, 8, 0, 0, 8, 9}));
  EXPECT_EQ(events[6], (Event{Op::Realloc, 3, 32, 0, 0, 0, 10}));
  EXPECT_EQ(events[7], (Event{Op::Realloc, 9, 0, 0, 0, 0, 11}));
  EXPECT_EQ(events[8], (Event{Op::Free, -1, 0, 0, 0, 0, 12}));
  EXPECT_EQ(events[9], (Event{Op::PprEnd, 0, 0, 0, 0, 0, 13}));
  EXPECT_EQ(events[10], (Event{Op::Free, 3, 0, 0, 0, 0, 14}));
}

TEST(NativeReader, AcceptsTheLimitsThemselves) {
  const auto events = native_events(
      "pprtrace 1\n"
      "a 268435455 1099511627776\n"
      "c 0 1048576 1048576\n"
      "m 1 1099511627776 0\n"
      "u 268435455 1099511627775 1\n"
      "w 0 0 1099511627776\n"
      "w 0 1099511627776 0\n"
      "a 007 5\n"
      "# \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 comments may hold UTF-8\n");
  EXPECT_EQ(events.size(), 7u);
  EXPECT_EQ(events[6].id, 7);
}

TEST(NativeReader, LineOfExactlyTheLimitIsAccepted) {
  const std::string comment = "#" + std::string(4095, 'x');
  EXPECT_EQ(native_events("pprtrace 1\n" + comment + "\r\na 1 2\n").size(), 1u);
  EXPECT_EQ(native_events("pprtrace 1\n" + comment + "\na 1 2").size(), 1u);  // no final newline
}

TEST(NativeReader, ReadsManyLinesAcrossBufferRefills) {
  std::ostringstream out;
  TraceWriter writer(out);
  for (std::int64_t i = 0; i < 100000; ++i) {
    writer.write(Event{Op::Malloc, i % 1000, static_cast<std::uint64_t>(i), 0, 0, 0, 0});
    writer.write(Event{Op::Free, i % 1000});
  }
  const auto events = native_events(out.str());
  ASSERT_EQ(events.size(), 200000u);
  EXPECT_EQ(events.back().line, 200001u);
  EXPECT_EQ(events[199998].size, 99999u);
}

}  // namespace
}  // namespace pprsim
