// Bad input is always bad input: a trace is read to its end before a run is judged, so a
// malformed line anywhere is exit status 2 with no JSON, even when the allocator failed first;
// a pipe is checked as it streams, and any amount of leading comments reads from one.
#include <gtest/gtest.h>

#include "props/tests/tools/cli_support.h"

namespace pprsim {
namespace {

using namespace test;

// The allocator fails at line 2 (16 GiB is more than the simulated system memory); the trace
// goes wrong at its last line only.
const std::string kFailsThenGarbage = "pprtrace 1\na 0 17179869184\na 1 16\nf 1\nzzz 1\n";

TEST(BadInput, MalformedLastLineIsExitTwoEvenAfterTheAllocatorFailed) {
  TempDir dir("bad_input");
  write_all(dir / "oom.trace", "pprtrace 1\na 0 17179869184\na 1 16\nf 1\n");
  const CliResult judged = run_pprsim(dir.path(), "replay oom.trace --json -", "2>/dev/null");
  ASSERT_EQ(judged.status, 1) << "the well-formed trace fails its run: " << judged.out;

  write_all(dir / "bad.trace", kFailsThenGarbage);
  for (const char* args :
       {"replay bad.trace --json out.json", "replay bad.trace --alloc all --json out.json",
        "replay bad.trace --group-size 4 --ppr-every 1 --json out.json"}) {
    const CliResult r = run_pprsim(dir.path(), args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.out;
    EXPECT_NE(r.out.find("bad.trace:5: unknown event 'zzz'"), std::string::npos) << r.out;
    EXPECT_EQ(line_count(r.out), 1u) << r.out;
    EXPECT_FALSE(fs::exists(dir / "out.json")) << args;
  }
  // No JSON on standard output either, and a pipe is checked to its end as well.
  for (const std::string pipe : {"", "cat bad.trace"}) {
    const CliResult r = run_pprsim(dir.path(), pipe.empty() ? "replay bad.trace --json -" : "replay /dev/stdin --json -",
                                   "2>/dev/null", pipe);
    EXPECT_EQ(r.status, 2) << pipe;
    EXPECT_EQ(r.out, "") << pipe;
  }
}

TEST(BadInput, PipeWithMoreLeadingCommentsThanTheBufferReads) {
  TempDir dir("bad_input_pipe");
  std::string comments;
  while (comments.size() < (300u << 10)) comments += "# a comment line that fills the buffer\n";
  write_all(dir / "native.trace", comments + "pprtrace 1\na 0 8\nf 0\n");
  write_all(dir / "lab.rep", comments + "0\n1\n2\n1\na 0 8\nf 0\n");
  for (const char* name : {"native.trace", "lab.rep"}) {
    const CliResult r =
        run_pprsim(dir.path(), "replay /dev/stdin --json -", "2>&1", std::string("cat ") + name);
    EXPECT_EQ(r.status, 0) << name << "\n" << r.out;
    EXPECT_NE(r.out.find("\"verified\": true"), std::string::npos) << r.out;
  }
}

TEST(BadInput, UnrecognisedFormatNamesItsLine) {
  TempDir dir("bad_input_format");
  write_all(dir / "x.trace", "# first a comment\n\nhello world\n");
  const CliResult r = run_pprsim(dir.path(), "replay x.trace");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("x.trace:3: unrecognised trace format"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace pprsim
