// The glibc mtrace importer: a hand-written sample in every form glibc 2.36 writes, addresses
// becoming ids, the warnings, format detection, and every error.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "traces/trace_reader.h"
#include "traces/trace_validator.h"

namespace pprsim {
namespace {

struct MtraceRead {
  std::vector<Event> events;
  std::uint64_t warnings = 0;
  std::vector<std::string> samples;
};

MtraceRead mtrace_events(const std::string& text) {
  std::istringstream in(text);
  auto reader = read_mtrace(in, "t.mtrace");
  EXPECT_EQ(reader->format(), TraceFormat::Mtrace);
  EXPECT_FALSE(reader->has_markers());
  MtraceRead r;
  TraceValidator validator("again");
  Event ev;
  while (reader->next(ev)) {
    validator.check(ev);  // what the reader gives must pass a fresh validator too
    r.events.push_back(ev);
  }
  r.warnings = reader->warnings();
  r.samples = reader->warning_samples();
  return r;
}

Event ev(Op op, std::int64_t id, std::uint64_t size, std::uint32_t line) {
  Event e;
  e.op = op;
  e.id = id;
  e.size = size;
  e.line = line;
  return e;
}

void expect_mtrace_error(const std::string& text, std::uint32_t line, const std::string& message) {
  SCOPED_TRACE("trace: " + text.substr(0, 200));
  try {
    mtrace_events(text);
  } catch (const TraceError& e) {
    EXPECT_EQ(e.file(), "t.mtrace");
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_NE(e.message().find(message), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << message;
    return;
  }
  ADD_FAILURE() << "no TraceError";
}

// As glibc 2.36's libc_malloc_debug.so writes it (recorded on Debian 12, then cut down), with
// the three forms of caller and lines without one.
const char* const kMtraceSample =
    "= Start\n"                               // 1
    "@ ./t:[0x11bb] + 0x55de3d1bc2a0 0xa\n"   // 2 malloc -> 0
    "@ ./t:[0x11ce] + 0x55de3d1bc4a0 0x18\n"  // 3 calloc -> 1
    "@ /lib/x86_64-linux-gnu/libc.so.6:(_IO_file_doallocate+8c)[0x758cc] + 0x55de3d1bc730 0x7\n"  // 4 -> 2
    "@ ./t:[0x1235] < 0x55de3d1bc730\n"                // 5 realloc 2 ...
    "@ ./t:[0x1235] > 0x55de3d1bc900 0x3e8\n"          // 6 ... moved
    "@ ./t:[0x124a] - 0x55de3d1bc2a0\n"                // 7 free 0
    "@ [0x7f3a0c1e4f10] + 0x55de3d1bc2a0 0\n"          // 8 same address: new object, id 0 again
    "@ ./t:[0x126e] + (nil) 0x4000000000000\n"         // 9 failed malloc
    "@ ./t:[0x1270] ! 0x55de3d1bc900 0x10000000000\n"  // 10 failed realloc
    "@ ./t:[0x1280] - 0x55de3d1b0000\n"                // 11 unknown: warning
    "- 0x55de3d1bc4a0\n"                               // 12 free 1, no caller
    "+ 0x55de3d1bc4a0 20\n"                            // 13 decimal size -> 1
    "@ ./t:[0x1290] < 0x55de3d1bc900\n"                // 14 realloc in place
    "@ ./t:[0x1290] > 0x55de3d1bc900 0x800\n"          // 15
    "\n"                                               // 16
    "@ /lib/x86_64-linux-gnu/libc.so.6:[0x17a944] - 0x55de3d1bc900\n"  // 17 free 2
    "= End\n";                                                         // 18

TEST(MtraceReader, ReadsTheSample) {
  const MtraceRead r = mtrace_events(kMtraceSample);
  const std::vector<Event> want = {
      ev(Op::Malloc, 0, 10, 2),    ev(Op::Malloc, 1, 24, 3),  ev(Op::Malloc, 2, 7, 4),
      ev(Op::Realloc, 2, 1000, 6), ev(Op::Free, 0, 0, 7),     ev(Op::Malloc, 0, 0, 8),
      ev(Op::Free, 1, 0, 12),      ev(Op::Malloc, 1, 20, 13), ev(Op::Realloc, 2, 2048, 15),
      ev(Op::Free, 2, 0, 17),
  };
  EXPECT_EQ(r.events, want);
  EXPECT_EQ(r.warnings, 1u);
  ASSERT_EQ(r.samples.size(), 1u);
  EXPECT_EQ(r.samples[0],
            "t.mtrace:11: free of 0x55de3d1b0000, which the trace never allocated (allocated "
            "before tracing began?): dropped");
}

TEST(MtraceReader, CallersWithBlanksAndCrlf) {
  const MtraceRead r = mtrace_events(
      "= Start\r\n"
      "@ /home/a b/my prog:(f+0x1)[0x10] + 0x1000 0x10\r\n"
      "\t@ /x y:[0x1]  -   0x1000  \r\n");
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0], ev(Op::Malloc, 0, 16, 2));
  EXPECT_EQ(r.events[1], ev(Op::Free, 0, 0, 3));
}

TEST(MtraceReader, WithoutStartLine) {
  const MtraceRead r = mtrace_events("+ 0x10 0x8\n- 0x10\n");
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0], ev(Op::Malloc, 0, 8, 1));
}

TEST(MtraceReader, IdsOfFreedObjectsAreReusedSmallestFirst) {
  // Three live, free the middle and the first, allocate twice: ids 0 then 1 again.
  const MtraceRead r = mtrace_events(
      "= Start\n+ 0xa0 0x1\n+ 0xb0 0x1\n+ 0xc0 0x1\n- 0xb0\n- 0xa0\n+ 0xd0 0x2\n+ 0xe0 0x2\n");
  ASSERT_EQ(r.events.size(), 7u);
  EXPECT_EQ(r.events[5], ev(Op::Malloc, 0, 2, 7));
  EXPECT_EQ(r.events[6], ev(Op::Malloc, 1, 2, 8));
}

TEST(MtraceReader, IdSpaceIsBoundedByLiveObjects) {
  std::string text = "= Start\n";
  for (int i = 0; i < 10000; ++i) {
    const std::string a = "0x" + std::to_string(1000 + i * 16);  // always new addresses
    text += "+ " + a + " 0x10\n- " + a + "\n";
  }
  const MtraceRead r = mtrace_events(text);
  ASSERT_EQ(r.events.size(), 20000u);
  for (const Event& e : r.events) EXPECT_EQ(e.id, 0);
}

TEST(MtraceReader, ReallocOfAnUnknownAddressBecomesMalloc) {
  const MtraceRead r = mtrace_events("= Start\n@ x:[0x1] < 0x500\n@ x:[0x1] > 0x600 0x20\n- 0x600\n");
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0], ev(Op::Malloc, 0, 32, 3));
  EXPECT_EQ(r.events[1], ev(Op::Free, 0, 0, 4));
  EXPECT_EQ(r.warnings, 1u);
  EXPECT_NE(r.samples[0].find("t.mtrace:3: realloc of 0x500, which the trace never allocated: "
                              "read as malloc"),
            std::string::npos);
}

TEST(MtraceReader, ReallocOfNullIsMalloc) {
  const MtraceRead r = mtrace_events("< (nil)\n> 0x600 0x20\n");
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0], ev(Op::Malloc, 0, 32, 2));
  EXPECT_EQ(r.warnings, 0u);
}

TEST(MtraceReader, AllocationAtALiveAddressFreesTheOldObject) {
  const MtraceRead r = mtrace_events("+ 0x10 0x8\n+ 0x20 0x8\n+ 0x10 0x9\n");
  ASSERT_EQ(r.events.size(), 4u);
  EXPECT_EQ(r.events[2], ev(Op::Free, 0, 0, 3));
  EXPECT_EQ(r.events[3], ev(Op::Malloc, 0, 9, 3));
  EXPECT_EQ(r.warnings, 1u);
  EXPECT_NE(r.samples[0].find("still live (object 0)"), std::string::npos);
}

TEST(MtraceReader, ReallocOntoALiveAddress) {
  const MtraceRead r = mtrace_events("+ 0x10 0x8\n+ 0x20 0x8\n< 0x10\n> 0x20 0x40\n");
  ASSERT_EQ(r.events.size(), 4u);
  EXPECT_EQ(r.events[2], ev(Op::Free, 1, 0, 4));
  EXPECT_EQ(r.events[3], ev(Op::Realloc, 0, 64, 4));
}

TEST(MtraceReader, ReallocToZeroBytesThatReturnedABlock) {
  const MtraceRead r = mtrace_events("+ 0x10 0x8\n< 0x10\n> 0x30 0\n- 0x30\n");
  ASSERT_EQ(r.events.size(), 4u);
  EXPECT_EQ(r.events[1], ev(Op::Free, 0, 0, 3));
  EXPECT_EQ(r.events[2], ev(Op::Malloc, 0, 0, 3));
  EXPECT_EQ(r.events[3], ev(Op::Free, 0, 0, 4));
}

TEST(MtraceReader, FreeOfNull) {
  const MtraceRead r = mtrace_events("- (nil)\n");
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0], ev(Op::Free, -1, 0, 1));
}

TEST(MtraceReader, ManyWarningsKeepTheFirstFew) {
  std::string text = "= Start\n";
  for (int i = 0; i < 50; ++i) text += "- 0x" + std::to_string(100 + i) + "\n";
  const MtraceRead r = mtrace_events(text);
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(r.warnings, 50u);
  EXPECT_EQ(r.samples.size(), TraceReader::kWarningSamples);
  EXPECT_NE(r.samples[0].find("t.mtrace:2:"), std::string::npos);
}

TEST(MtraceReader, ASecondStartBeginsANewProcess) {
  const MtraceRead r = mtrace_events("= Start\n+ 0x10 0x8\n= End\n= Start\n+ 0x10 0x8\n- 0x10\n");
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(r.events[1], ev(Op::Malloc, 1, 8, 5));  // object 0 stays live
  EXPECT_EQ(r.events[2], ev(Op::Free, 1, 0, 6));
  EXPECT_EQ(r.warnings, 0u);
}

TEST(MtraceErrors, EmptyAndForeign) {
  expect_mtrace_error("", 0, "empty trace: expected glibc mtrace output");
  expect_mtrace_error("\n  \n", 0, "empty trace");
  expect_mtrace_error("pprtrace 1\n", 1, "unknown line 'pprtrace': expected '= Start'");
  expect_mtrace_error("= Begin\n", 1, "unknown line '= Begin': expected '= Start' or '= End'");
  expect_mtrace_error("=Start\n", 1, "unknown line '=Start'");
}

TEST(MtraceErrors, TruncatedAndMalformedLines) {
  expect_mtrace_error("= Start\n@ ./t:[0x11bb] +\n", 2, "expected '@ CALLER' then '+ ADDR SIZE'");
  expect_mtrace_error("= Start\n@ ./t:[0x11bb] + 0x55de3d1bc2a0\n", 2, "expected '@ CALLER' then");
  expect_mtrace_error("= Start\n@ + 0x10 0x8\n", 2, "expected '@ CALLER' then");
  expect_mtrace_error("= Start\n@\n", 2, "expected '@ CALLER' then");
  expect_mtrace_error("= Start\n@./t + 0x10 0x8\n", 2, "expected '@ CALLER' then");
  expect_mtrace_error("= Start\n+ 0x10\n", 2, "'+' with 1 field: expected '+ ADDR SIZE'");
  expect_mtrace_error("= Start\n- 0x10 0x8\n", 2, "'-' with 2 fields: expected '- ADDR'");
  expect_mtrace_error("= Start\n* 0x10\n", 2, "unknown line '*'");
  expect_mtrace_error("= Start\n+ 0x10 0x8 0x9\n", 2, "'+' with 3 fields");
}

TEST(MtraceErrors, Numbers) {
  expect_mtrace_error("+ 16 0x8\n", 1, "expected an address ('0x...' or '(nil)') for ADDR, got '16'");
  expect_mtrace_error("+ 0xzz 0x8\n", 1, "expected a hexadecimal number for ADDR, got '0xzz'");
  expect_mtrace_error("+ 0x10 0x8g\n", 1, "expected a hexadecimal number for SIZE, got '0x8g'");
  expect_mtrace_error("+ 0x10 eight\n", 1, "expected a size ('0x...' or decimal) for SIZE, got 'eight'");
  expect_mtrace_error("+ 0x10 -8\n", 1, "expected a size");
  expect_mtrace_error("+ 0x10000000000000000 0x8\n", 1, "ADDR '0x10000000000000000' overflows 64 bits");
  expect_mtrace_error("+ 0x10 0x1ffffffffffffffff\n", 1, "SIZE '0x1ffffffffffffffff' overflows 64 bits");
  expect_mtrace_error("+ 0x10 99999999999999999999999\n", 1, "overflows 64 bits");
  // Fits in 64 bits, but no trace may ask for that much.
  expect_mtrace_error("= Start\n+ 0x10 0x20000000000\n", 2, "exceeds the limit of 2^40 bytes");
}

TEST(MtraceErrors, Realloc) {
  expect_mtrace_error("> 0x10 0x8\n", 1, "'>' without '< ADDR' on the line before");
  expect_mtrace_error("+ 0x10 0x8\n< 0x10\n+ 0x20 0x8\n", 3,
               "expected '> ADDR SIZE' to complete the realloc begun at line 2");
  expect_mtrace_error("+ 0x10 0x8\n< 0x10\n< 0x10\n", 3, "to complete the realloc begun at line 2");
  expect_mtrace_error("+ 0x10 0x8\n< 0x10\n= End\n", 3, "to complete the realloc begun at line 2");
  expect_mtrace_error("+ 0x10 0x8\n< 0x10\n", 2,
               "end of trace inside the realloc begun at line 2: expected '> ADDR SIZE'");
  expect_mtrace_error("+ 0x10 0x8\n< 0x10\n> (nil) 0x8\n", 3, "expected the address of the new block");
}

TEST(MtraceErrors, BadBytes) {
  expect_mtrace_error("= Start\n@ ./t\xff:[0x1] + 0x10 0x8\n", 2, "invalid UTF-8 byte 0xff");
  expect_mtrace_error(std::string("= Start\n+ 0x10\0 0x8\n", 19), 2, "control character 0x00");
  expect_mtrace_error("= Start\n@ " + std::string(5000, 'x') + " + 0x10 0x8\n", 2, "line longer than");
}

// ---- Detection by content ----

class MtraceFile : public ::testing::Test {
 protected:
  std::string write(const std::string& content) {
    const std::string path = ::testing::TempDir() + "pprsim_mtrace_" + std::to_string(::getpid()) +
                             "_" + std::to_string(paths_.size()) + ".trace";
    std::ofstream(path, std::ios::binary) << content;
    paths_.push_back(path);
    return path;
  }
  ~MtraceFile() override {
    for (const auto& p : paths_) std::remove(p.c_str());
  }

 private:
  std::vector<std::string> paths_;
};

TEST_F(MtraceFile, DetectedByContentNotName) {
  for (const std::string& text :
       {std::string(kMtraceSample), std::string("\n@ ./t:[0x11bb] + 0x55de3d1bc2a0 0xa\n"),
        std::string("+ 0x55de3d1bc2a0 0xa\n"), std::string("@ /a#b:[0x1] + 0x10 0x1\n"),
        std::string("- (nil)\n")}) {
    auto reader = open_trace(write(text));
    EXPECT_EQ(reader->format(), TraceFormat::Mtrace) << text;
    Event e;
    while (reader->next(e)) {
    }
  }
  EXPECT_EQ(format_name(TraceFormat::Mtrace), "mtrace");
}

TEST_F(MtraceFile, OtherFormatsAreNotTakenForMtrace) {
  EXPECT_EQ(open_trace(write("pprtrace 1\n"))->format(), TraceFormat::Native);
  EXPECT_EQ(open_trace(write("0\n1\n1\n1\na 0 8\n"))->format(), TraceFormat::CsApp);
  for (const char* text : {"+ 16 8\n", "= Begin\n", "hello\n", "+\n"}) {
    try {
      open_trace(write(text));
      ADD_FAILURE() << "no error for " << text;
    } catch (const TraceError& e) {
      EXPECT_NE(e.message().find("unrecognised trace format"), std::string::npos) << e.what();
      EXPECT_NE(e.message().find("glibc mtrace"), std::string::npos) << e.what();
    }
  }
}

TEST_F(MtraceFile, ErrorsNameTheFile) {
  const std::string path = write("= Start\n+ 0x10 0x8\n- 0x10 junk\n");
  try {
    auto reader = open_trace(path);
    Event e;
    while (reader->next(e)) {
    }
    ADD_FAILURE() << "no error";
  } catch (const TraceError& e) {
    EXPECT_EQ(std::string(e.what()), path + ":3: '-' with 2 fields: expected '- ADDR'");
  }
}

}  // namespace
}  // namespace pprsim
