// pprsim convert: native to its canonical form (a fixed point), CS:APP .rep and mtrace to native
// with the same events, and bad input of every format: exit 2, one line, no OUT left behind.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "props/tests/test_support.h"
#include "traces/trace_reader.h"

namespace pprsim {
namespace {

namespace fs = std::filesystem;

using CmdResult = test::CommandResult;

CmdResult pprsim_run(const std::string& args) { return test::run_pprsim(args); }

using test::slurp;

// The events of a trace file, without their line numbers.
std::vector<Event> events_of(const fs::path& p) {
  auto reader = open_trace(p.string());
  std::vector<Event> out;
  Event ev;
  while (reader->next(ev)) {
    ev.line = 0;
    out.push_back(ev);
  }
  return out;
}

class Convert : public ::testing::Test {
 protected:
  Convert() {
    dir_ = fs::temp_directory_path() /
           ("pprsim_convert_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  ~Convert() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  // Files of the directory whose name begins with `prefix` (a temporary file left behind by a
  // failed write of OUT would show here).
  std::vector<std::string> files_named(const std::string& prefix) const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_))
      if (e.path().filename().string().rfind(prefix, 0) == 0)
        out.push_back(e.path().filename().string());
    return out;
  }
  // Converting `in` must fail with exit 2 and one line naming `where` ("FILE:LINE:"), leave no
  // OUT (nor temporary file) behind, and never touch an OUT that was there before.
  void expect_rejected(const fs::path& in, const std::string& where, const std::string& message) {
    SCOPED_TRACE(in.string());
    const fs::path out = dir_ / "out.trace";
    fs::remove(out);
    CmdResult r = pprsim_run("convert " + in.string() + " " + out.string());
    EXPECT_EQ(r.status, 2) << r.out;
    EXPECT_EQ(r.out.find("pprsim: " + where), 0u) << r.out;
    EXPECT_NE(r.out.find(message), std::string::npos) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
    EXPECT_FALSE(fs::exists(out));
    EXPECT_EQ(files_named("out.trace"), std::vector<std::string>{});
    // An OUT from before stays as it was.
    std::ofstream(out) << "old\n";
    r = pprsim_run("convert " + in.string() + " " + out.string());
    EXPECT_EQ(r.status, 2) << r.out;
    EXPECT_EQ(slurp(out), "old\n");
    fs::remove(out);
    EXPECT_EQ(files_named("out.trace"), std::vector<std::string>{});
  }

  fs::path dir_;
};

TEST_F(Convert, CanonicalNativeIsAFixedPoint) {
  const std::string canonical =
      "pprtrace 1\na 0 16\nc 1 4 8\nm 2 64 100\nppr\nw 0 0 16\nu 1 8 8\nr 0 32\nf 1\nend\n"
      "f -1\nr 5 7\nf 5\nf 0\n";
  const fs::path in = write("in.trace", canonical);
  const fs::path out = dir_ / "out.trace";
  const CmdResult r = pprsim_run("convert " + in.string() + " " + out.string());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(slurp(out), canonical);
}

TEST_F(Convert, NativeBecomesCanonicalThenStaysTheSame) {
  const fs::path in = write("messy.trace",
                            "# a comment\r\n\r\n  pprtrace   1 \r\nppr # begin\r\n"
                            "a\t0\t16\r\n  w 0 0 8\r\nend\r\nf 0   # gone\r\n");
  const fs::path once = dir_ / "once.trace";
  const fs::path twice = dir_ / "twice.trace";
  ASSERT_EQ(pprsim_run("convert " + in.string() + " " + once.string()).status, 0);
  EXPECT_EQ(slurp(once), "pprtrace 1\nppr\na 0 16\nw 0 0 8\nend\nf 0\n");
  ASSERT_EQ(pprsim_run("convert " + once.string() + " " + twice.string()).status, 0);
  EXPECT_EQ(slurp(twice), slurp(once));
  EXPECT_EQ(events_of(twice), events_of(in));
}

// OUT that is IN would be its own input's undoing: refused before anything is touched.
TEST_F(Convert, RefusesToWriteOverItsInput) {
  const fs::path p = write("same.trace", "pprtrace 1\na 0 1 # x\n");
  const CmdResult r = pprsim_run("convert " + p.string() + " " + p.string());
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("is the same file as the input"), std::string::npos) << r.out;
  EXPECT_EQ(slurp(p), "pprtrace 1\na 0 1 # x\n");
}

TEST_F(Convert, CsAppTracesKeepTheirEvents) {
  PPRSIM_REQUIRE_CSAPP(csapp);
  int converted = 0;
  for (const auto& e : fs::directory_iterator(csapp)) {
    if (e.path().extension() != ".rep") continue;
    SCOPED_TRACE(e.path().string());
    const fs::path out = dir_ / (e.path().stem().string() + ".trace");
    const CmdResult r = pprsim_run("convert " + e.path().string() + " " + out.string());
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(slurp(out).rfind("# converted by pprsim convert from the cs-app trace " +
                                   e.path().filename().string(),
                               0),
              0u);
    auto reader = open_trace(out.string());
    EXPECT_EQ(reader->format(), TraceFormat::Native);
    EXPECT_EQ(events_of(out), events_of(e.path()));
    ++converted;
  }
  EXPECT_GT(converted, 0);
}

TEST_F(Convert, MtraceKeepsItsEventsAndReportsWarnings) {
  const fs::path in =
      write("prog.mtrace",
            "= Start\n@ ./t:[0x11bb] + 0x55de3d1bc2a0 0xa\n"
            "@ ./t:[0x1235] < 0x55de3d1bc2a0\n@ ./t:[0x1235] > 0x55de3d1bc9f0 0x3e8\n"
            "@ ./t:[0x1280] - 0x55de3d1b0000\n- 0x55de3d1bc9f0\n= End\n");
  const fs::path out = dir_ / "out.trace";
  const CmdResult r = pprsim_run("convert " + in.string() + " " + out.string());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("pprsim: warning: " + in.string() + ":5: free of 0x55de3d1b0000"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(slurp(out),
            "# converted by pprsim convert from the mtrace trace prog.mtrace\n"
            "pprtrace 1\na 0 10\nr 0 1000\nf 0\n");
  EXPECT_EQ(events_of(out), events_of(in));
}

TEST_F(Convert, BadNativeInput) {
  expect_rejected(write("empty.trace", ""), dir_.string() + "/empty.trace: empty trace",
                  "expected");
  expect_rejected(
      write("trunc.trace", "pprtrace 1\na 0 16\nw 0 0\n"),
      dir_.string() + "/trunc.trace:3:", "'w' with 2 fields: expected 'w ID OFFSET LEN'");
  expect_rejected(write("op.trace", "pprtrace 1\nq 1\n"),
                  dir_.string() + "/op.trace:2:", "unknown event 'q'");
  expect_rejected(write("big.trace", "pprtrace 1\na 0 99999999999999999999\n"),
                  dir_.string() + "/big.trace:2:", "overflows 64 bits");
  expect_rejected(write("utf.trace", "pprtrace 1\na 0 16\n\xc3\x28\n"),
                  dir_.string() + "/utf.trace:3:", "invalid UTF-8");
  // The error comes late: what was written before it must not survive.
  std::string late = "pprtrace 1\n";
  for (int i = 0; i < 200000; ++i) late += "a 0 8\nf 0\n";
  late += "f 0\n";
  expect_rejected(write("late.trace", late),
                  dir_.string() + "/late.trace:400002:", "free of unknown id 0");
}

TEST_F(Convert, BadCsAppInput) {
  expect_rejected(write("h.rep", "1\n2\n"), dir_.string() + "/h.rep:2:", "truncated header");
  expect_rejected(write("op.rep", "1\n2\n3\n1\nx 1\n"),
                  dir_.string() + "/op.rep:5:", "unknown operation 'x'");
  expect_rejected(write("big.rep", "1\n2\n3\n1\na 0 18446744073709551616\n"),
                  dir_.string() + "/big.rep:5:", "overflows 64 bits");
  expect_rejected(write("bin.rep", std::string("1\n2\n3\n1\na 0 8\x01\n")),
                  dir_.string() + "/bin.rep:5:", "control character 0x01");
}

TEST_F(Convert, BadMtraceInput) {
  expect_rejected(write("t.mtrace", "= Start\n@ ./t:[0x11bb] + 0x55de3d1bc2a0\n"),
                  dir_.string() + "/t.mtrace:2:", "expected '@ CALLER' then");
  expect_rejected(write("op.mtrace", "= Start\n% 0x10\n"),
                  dir_.string() + "/op.mtrace:2:", "unknown line '%'");
  expect_rejected(write("big.mtrace", "= Start\n+ 0x10 0x10000000000000000\n"),
                  dir_.string() + "/big.mtrace:2:", "overflows 64 bits");
  expect_rejected(write("bin.mtrace", "= Start\n+ 0x10 0x8\n\xff\xfe\n"),
                  dir_.string() + "/bin.mtrace:3:", "invalid UTF-8 byte 0xff");
  expect_rejected(write("re.mtrace", "= Start\n+ 0x10 0x8\n< 0x10\n"),
                  dir_.string() + "/re.mtrace:3:", "end of trace inside the realloc");
}

TEST_F(Convert, UnknownFormatAndMissingFile) {
  expect_rejected(write("junk.bin",
                        "\x7f"
                        "ELF\x02\x01\x01"),
                  dir_.string() + "/junk.bin:", "control character");
  expect_rejected(write("words.txt", "hello world\n"), dir_.string() + "/words.txt:1: unrecognised",
                  "unrecognised trace format");
  const CmdResult r =
      pprsim_run("convert " + (dir_ / "none.trace").string() + " " + (dir_ / "o.trace").string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("none.trace: cannot open: No such file or directory"), std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "o.trace"));
}

TEST_F(Convert, UnwritableOutput) {
  const fs::path in = write("in.trace", "pprtrace 1\n");
  const CmdResult r =
      pprsim_run("convert " + in.string() + " " + (dir_ / "no" / "such" / "dir.trace").string());
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("cannot create"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace pprsim
