// open_trace: opening files, recognising their format, and the errors on the way.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "traces/trace_reader.h"

namespace pprsim {
namespace {

class TraceFile : public ::testing::Test {
 protected:
  // Writes `content` to a fresh file and returns its path.
  std::string write(const std::string& content) {
    const std::string path = ::testing::TempDir() + "pprsim_trace_" + std::to_string(::getpid()) +
                             "_" + std::to_string(paths_.size()) + ".trace";
    std::ofstream(path, std::ios::binary) << content;
    paths_.push_back(path);
    return path;
  }
  ~TraceFile() override {
    for (const auto& p : paths_) std::remove(p.c_str());
  }

  static std::vector<Event> read_all(TraceReader& reader) {
    std::vector<Event> events;
    Event ev;
    while (reader.next(ev)) events.push_back(ev);
    return events;
  }

  // open_trace (and reading to the end) must throw a TraceError with this line and message.
  static void expect_error(const std::string& path, std::uint32_t line,
                           const std::string& message) {
    try {
      auto reader = open_trace(path);
      read_all(*reader);
    } catch (const TraceError& e) {
      EXPECT_EQ(e.file(), path);
      EXPECT_EQ(e.line(), line) << e.what();
      EXPECT_NE(e.message().find(message), std::string::npos) << e.what();
      return;
    }
    ADD_FAILURE() << "no TraceError for " << path;
  }

 private:
  std::vector<std::string> paths_;
};

TEST_F(TraceFile, DetectsNative) {
  auto reader = open_trace(write("# made by hand\n\npprtrace 1\nppr\na 1 8\nend\n"));
  EXPECT_EQ(reader->format(), TraceFormat::Native);
  EXPECT_TRUE(reader->has_markers());
  EXPECT_EQ(reader->announced_operations(), 0u);
  const auto events = read_all(*reader);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1], (Event{Op::Malloc, 1, 8, 0, 0, 0, 5}));
}

TEST_F(TraceFile, DetectsCsApp) {
  auto reader = open_trace(write("0\r\n2\r\n2\r\n1\r\na 0 8\r\nf 0\r\n"));
  EXPECT_EQ(reader->format(), TraceFormat::CsApp);
  EXPECT_FALSE(reader->has_markers());
  EXPECT_EQ(reader->announced_operations(), 2u);
  EXPECT_EQ(read_all(*reader).size(), 2u);
}

TEST_F(TraceFile, DetectsNativeAfterMoreCommentsThanTheBufferHolds) {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "# a comment line that fills the buffer\n";
  text += "pprtrace 1\na 1 2\n";
  auto reader = open_trace(write(text));
  EXPECT_EQ(reader->format(), TraceFormat::Native);
  const auto events = read_all(*reader);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].line, 20002u);
}

TEST_F(TraceFile, NameIsThePath) {
  const std::string path = write("pprtrace 1\n");
  EXPECT_EQ(open_trace(path)->name(), path);
}

TEST_F(TraceFile, Errors) {
  expect_error(::testing::TempDir() + "pprsim_no_such_file.trace", 0,
               "cannot open: No such file or directory");
  expect_error(::testing::TempDir(), 0, "cannot open: Is a directory");
  expect_error(write(""), 0, "empty trace: expected header");
  expect_error(write("\n# nothing but comments\n"), 0, "empty trace: expected header");
  expect_error(write("hello world\n"), 1,
               "unrecognised trace format: expected 'pprtrace 1' header or a CS:APP .rep header");
  expect_error(write("a 1 8\n"), 1, "unrecognised trace format");
  expect_error(write("1 2\n"), 1, "unrecognised trace format");
  expect_error(write("-1\n"), 1, "unrecognised trace format");
  expect_error(write("# a comment\n\n-1\n"), 3, "unrecognised trace format");
  // Detected, then rejected by the format's own reader.
  expect_error(write("pprtrace 7\n"), 1, "unsupported version '7'");
  expect_error(write("pprtrace 1\nf 3\n"), 2, "free of unknown id 3");
  expect_error(write("1\n2\n"), 2, "truncated header");
  expect_error(write(std::string("\0pprtrace 1\n", 12)), 1, "control character 0x00");
}

TEST(TraceErrorText, FileLineAndMessage) {
  EXPECT_STREQ(TraceError("x.trace", 12, "bad").what(), "x.trace:12: bad");
  EXPECT_STREQ(TraceError("x.trace", 0, "bad").what(), "x.trace: bad");
  const TraceError e("f", 3, "m");
  EXPECT_EQ(e.file(), "f");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_EQ(e.message(), "m");
}

TEST(TraceErrorText, FormatNames) {
  EXPECT_EQ(format_name(TraceFormat::Native), "native");
  EXPECT_EQ(format_name(TraceFormat::CsApp), "cs-app");
}

}  // namespace
}  // namespace pprsim
