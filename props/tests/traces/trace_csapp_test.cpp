// The CS:APP malloc-lab .rep reader: its errors, and the lab's own traces.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "traces/trace_reader.h"

namespace pprsim {
namespace {

std::vector<Event> csapp_events(const std::string& text) {
  std::istringstream in(text);
  auto reader = read_csapp(in, "t.rep");
  std::vector<Event> events;
  Event ev;
  while (reader->next(ev)) events.push_back(ev);
  return events;
}

void expect_csapp_error(const std::string& text, std::uint32_t line, const std::string& message) {
  SCOPED_TRACE("trace: " + text.substr(0, 200));
  try {
    csapp_events(text);
  } catch (const TraceError& e) {
    EXPECT_EQ(e.file(), "t.rep");
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_NE(e.message().find(message), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << message;
    return;
  }
  ADD_FAILURE() << "no TraceError";
}

// A body after a valid 4-line header (so the body starts at line 5).
void expect_csapp_body_error(const std::string& body, std::uint32_t line, const std::string& message) {
  expect_csapp_error("0\n10\n3\n1\n" + body, line, message);
}

TEST(CsAppReader, ParsesHeaderAndOperations) {
  std::istringstream in("20000\r\n3\r\n5\r\n1\r\n\r\na 0 8\r\nr 1 16\r\nr 0 0\r\nf -1\r\nf 1\r\n");
  auto reader = read_csapp(in, "t.rep");
  EXPECT_EQ(reader->format(), TraceFormat::CsApp);
  EXPECT_FALSE(reader->has_markers());
  EXPECT_EQ(reader->announced_operations(), 5u);
  EXPECT_EQ(reader->name(), "t.rep");
  std::vector<Event> events;
  Event ev;
  while (reader->next(ev)) events.push_back(ev);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0], (Event{Op::Malloc, 0, 8, 0, 0, 0, 6}));
  EXPECT_EQ(events[1], (Event{Op::Realloc, 1, 16, 0, 0, 0, 7}));
  EXPECT_EQ(events[2], (Event{Op::Realloc, 0, 0, 0, 0, 0, 8}));
  EXPECT_EQ(events[3], (Event{Op::Free, -1, 0, 0, 0, 0, 9}));
  EXPECT_EQ(events[4], (Event{Op::Free, 1, 0, 0, 0, 0, 10}));
  EXPECT_FALSE(reader->next(ev));
}

TEST(CsAppReader, HeaderOnlyAndBlankLines) {
  EXPECT_TRUE(csapp_events("1\n0\n0\n1\n").empty());
  EXPECT_EQ(csapp_events("\n1\n\n2\n 1 \n\t1\n\na 0 1\n\n").size(), 1u);
  EXPECT_EQ(csapp_events("1\n2\n1\n4\na 0 1").size(), 1u);  // no final newline
}

TEST(CsAppErrors, Header) {
  expect_csapp_error("", 0, "empty trace: expected header");
  expect_csapp_error("\n\n", 0, "empty trace: expected header");
  expect_csapp_error("1\n2\n3\n", 3, "truncated header: expected 4 header lines");
  expect_csapp_error("1\n", 1, "got 1");
  expect_csapp_error("1\nx\n3\n4\n", 2,
               "expected the number of ids (a non-negative integer) as header line 2, got 'x'");
  expect_csapp_error("1\n2\n-3\n4\n", 3, "expected the number of operations (a non-negative integer)");
  expect_csapp_error("1 2\n2\n3\n4\n", 1,
               "expected the heap-size hint (a non-negative integer) as header line 1");
  expect_csapp_error("1\n2\n3\na 0 1\n", 4, "expected the weight");
  expect_csapp_error("1\n2\n99999999999999999999\n4\n", 3,
               "number of operations '99999999999999999999' overflows 64 bits");
  expect_csapp_error("# comment\n1\n2\n3\n4\n", 1, "expected the heap-size hint");
}

TEST(CsAppErrors, UnknownOperation) {
  expect_csapp_body_error("c 0 1 1\n", 5,
                    "unknown operation 'c': expected 'a ID SIZE', 'r ID SIZE' or 'f ID'");
  expect_csapp_body_error("\nppr\n", 6, "unknown operation 'ppr'");
  expect_csapp_body_error("a 0 1\n# comment\n", 6, "unknown operation '#'");
  expect_csapp_body_error("5\n", 5, "unknown operation '5'");
}

TEST(CsAppErrors, MissingOrExtraFields) {
  expect_csapp_body_error("a 0\n", 5, "'a' with 1 field: expected 'a ID SIZE'");
  expect_csapp_body_error("r 0 1 2\n", 5, "'r' with 3 fields: expected 'r ID SIZE'");
  expect_csapp_body_error("f\n", 5, "'f' with 0 fields: expected 'f ID'");
  expect_csapp_body_error("a 0 1\nf 0 1\n", 6, "'f' with 2 fields: expected 'f ID'");
}

TEST(CsAppErrors, Numbers) {
  expect_csapp_body_error("a 0 x\n", 5, "expected a decimal integer for SIZE, got 'x'");
  expect_csapp_body_error("a 0 -1\n", 5, "expected a non-negative SIZE, got '-1'");
  expect_csapp_body_error("a 0 18446744073709551616\n", 5,
                    "SIZE '18446744073709551616' overflows 64 bits");
  expect_csapp_body_error("a 0x1 1\n", 5, "expected a decimal integer for ID, got '0x1'");
  expect_csapp_body_error("a -1 8\n", 5, "id -1 out of range");
  expect_csapp_body_error("r -1 8\n", 5, "id -1 out of range");
  expect_csapp_body_error("f -2\n", 5, "id -2 out of range");
  expect_csapp_body_error("a 268435456 8\n", 5, "id 268435456 out of range: expected 0 .. 268435455");
  expect_csapp_body_error("a 0 1099511627777\n", 5, "size 1099511627777 exceeds the limit of 2^40 bytes");
}

TEST(CsAppErrors, Liveness) {
  expect_csapp_body_error("a 0 8\na 0 8\n", 6, "malloc of id 0, which is already live");
  expect_csapp_body_error("f 7\n", 5, "free of unknown id 7");
  expect_csapp_body_error("a 7 1\nf 7\nf 7\n", 7, "free of unknown id 7");
  expect_csapp_body_error("a 3 1\nr 3 0\nf 3\n", 7, "free of unknown id 3");
  EXPECT_EQ(csapp_events("1\n4\n3\n1\nr 3 10\nr 3 20\nf 3\n").size(), 3u);  // realloc(NULL, 10)
}

// The header's counts are promises the body must keep (the lab's own traces all do).
TEST(CsAppErrors, HeaderCountsDisagreeWithTheBody) {
  expect_csapp_error("0\n10\n3\n1\na 0 8\nf 0\n", 3,
               "the header announces 3 operations, the trace has 2");
  expect_csapp_error("0\n10\n3\n1\n", 3, "the header announces 3 operations, the trace has 0");
  expect_csapp_error("0\n10\n\n2\n1\na 0 8\nf 0\na 1 8\n", 8,
               "operation 3 of a trace whose header (line 4) announces 2");
  expect_csapp_error("0\n2\n3\n1\na 0 8\na 2 8\nf 0\n", 6,
               "id 2 is not below the 2 ids the header (line 2) announces");
  EXPECT_EQ(csapp_events("0\n2\n3\n1\na 1 8\nf -1\nf 1\n").size(), 3u);  // -1: free(NULL)
}

TEST(CsAppErrors, GarbageAndLongLines) {
  expect_csapp_body_error(std::string("a 0\0 8\n", 7), 5, "control character 0x00 at column 4");
  expect_csapp_body_error("a 0 8\n\xfe\xff\n", 6, "invalid UTF-8 byte 0xfe at column 1");
  expect_csapp_error("1\n\x1b[31m\n", 2, "control character 0x1b");
  expect_csapp_body_error("a 0 " + std::string(5000, '1') + "\n", 5, "line longer than 4096 bytes");
}

TEST(CsAppTraces, EveryLabTraceParsesToItsAnnouncedOperations) {
  const std::filesystem::path dir = PPRSIM_SOURCE_DIR "/../shared/traces/cs-app/";
  if (!std::filesystem::is_directory(dir))
    GTEST_SKIP() << "CS:APP traces not found at " << dir.string();
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".rep") continue;
    SCOPED_TRACE(entry.path().string());
    ++files;
    std::uint64_t count = 0;
    try {
      auto reader = open_trace(entry.path().string());
      EXPECT_EQ(reader->format(), TraceFormat::CsApp);
      Event ev;
      std::uint32_t last_line = 4;
      while (reader->next(ev)) {
        ++count;
        EXPECT_GT(ev.line, last_line);
        EXPECT_TRUE(ev.op == Op::Malloc || ev.op == Op::Realloc || ev.op == Op::Free);
        last_line = ev.line;
      }
      EXPECT_GT(reader->announced_operations(), 0u);
      EXPECT_EQ(count, reader->announced_operations());
    } catch (const TraceError& e) {
      ADD_FAILURE() << e.what();
    }
  }
  EXPECT_GT(files, 0u) << "no .rep file in " << dir.string();
}

}  // namespace
}  // namespace pprsim
