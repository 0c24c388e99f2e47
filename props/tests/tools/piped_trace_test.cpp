// A trace that can be read only once (a pipe, a FIFO, /dev/stdin) reads like the same trace in
// a file, in every command that reads a trace more than once (traces/trace_source.h), and the
// copy it is reread from is never left in $TMPDIR.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "props/tests/tools/cli_support.h"

namespace pprsim {
namespace {

using namespace test;

using test::kSample;

// Each run's JSON without the fields that depend on how the trace was named or on time.
std::vector<nlohmann::json> runs_of(const std::string& text) {
  std::vector<nlohmann::json> runs;
  const nlohmann::json all = nlohmann::json::parse(text, nullptr, false);
  if (!all.is_array()) return runs;
  for (nlohmann::json r : all) {
    r.erase("trace");
    r.erase("seconds");
    r.erase("provenance");  // its command names the trace too
    runs.push_back(r);
  }
  return runs;
}

TEST(PipedTrace, ReplayOfEveryAllocatorReadsAPipeLikeTheFile) {
  TempDir dir("piped_replay");
  fs::create_directory(dir / "tmp");
  const std::string env = "export TMPDIR='" + (dir / "tmp").string() + "'; ";
  const CliResult file = run_pprsim(dir.path(), "replay " + kSample + " --alloc all --json -", "2>/dev/null");
  const CliResult piped = run_pprsim(dir.path(), "replay /dev/stdin --alloc all --json -", "2>&1",
                                     env + "cat " + kSample);
  EXPECT_EQ(piped.status, file.status) << piped.out;
  const auto want = runs_of(file.out);
  ASSERT_GT(want.size(), 1u) << file.out;
  EXPECT_EQ(runs_of(piped.out), want) << piped.out;
  EXPECT_TRUE(listing(dir / "tmp").empty()) << "a copy of the trace was left in $TMPDIR";
}

TEST(PipedTrace, AFifoIsReadOnceForSeveralAllocators) {
  TempDir dir("piped_fifo");
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  const CliResult r = run_pprsim(dir.path(), "replay fifo --alloc dmmalloc,comalloc --json -", "2>&1",
                                 "(timeout 60 cat " + kSample + " > fifo &) && true");
  EXPECT_EQ(r.status, 0) << r.out;
  const auto runs = runs_of(r.out);
  ASSERT_EQ(runs.size(), 2u) << r.out;
  EXPECT_EQ(runs[0]["events"], runs[1]["events"]);
  EXPECT_GT(runs[1]["events"].get<int>(), 0);
}

TEST(PipedTrace, ShrinkReadsAPipedTrace) {
  TempDir dir("piped_shrink");
  fs::create_directory(dir / "tmp");
  const std::string args = " --alloc shared --group-size 4 -o ";
  const CliResult file = run_pprsim(dir.path(), "shrink " + kSample + args + "from-file.trace");
  ASSERT_EQ(file.status, 1) << file.out;
  const CliResult piped = run_pprsim(dir.path(), "shrink /dev/stdin" + args + "from-pipe.trace", "2>&1",
                                     "export TMPDIR='" + (dir / "tmp").string() + "'; cat " + kSample);
  EXPECT_EQ(piped.status, 1) << piped.out;
  // The same events (the comment names the input and the output).
  auto body = [](const std::string& t) { return t.substr(std::min(t.find("pprtrace"), t.size())); };
  EXPECT_EQ(body(slurp(dir / "from-pipe.trace")), body(slurp(dir / "from-file.trace")));
  EXPECT_TRUE(listing(dir / "tmp").empty());
}

}  // namespace
}  // namespace pprsim
