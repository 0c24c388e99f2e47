// pprsim shrink as a user meets it: a failing trace becomes a small native trace that fails the
// same way under the replay command written into it.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "props/tests/test_support.h"

namespace pprsim {
namespace {

using test::run_pprsim;

std::filesystem::path temp_dir() {
  auto d = std::filesystem::temp_directory_path() / "pprsim_shrink_test";
  std::filesystem::create_directories(d);
  return d;
}

using test::slurp;

std::size_t operations(const std::string& trace) {
  std::istringstream in(trace);
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != '#' && line != "pprtrace 1" && line != "ppr" && line != "end") ++n;
  }
  return n;
}

using test::kSample;

TEST(Shrink, TheControlAllocatorsFailureShrinksToAFewEventsAndReproduces) {
  const auto out = temp_dir() / "shared-demo.trace";
  std::filesystem::remove(out);
  const auto r = run_pprsim("shrink " + kSample + " --alloc shared --group-size 4 -o " + out.string());
  ASSERT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("allocator-induced conflict"), std::string::npos) << r.out;
  const std::string shrunk = slurp(out);
  EXPECT_LE(operations(shrunk), 4u) << shrunk;
  EXPECT_NE(shrunk.find("# reproduce: pprsim replay " + out.string() + " --alloc shared --group-size 4"),
            std::string::npos)
      << shrunk;
  const auto again = run_pprsim("replay " + out.string() + " --alloc shared --group-size 4 --json -");
  EXPECT_EQ(again.status, 1) << again.out;
  EXPECT_NE(again.out.find("\"allocator_induced\": "), std::string::npos);
  EXPECT_EQ(again.out.find("\"allocator_induced\": 0"), std::string::npos) << again.out;
}

TEST(Shrink, IsDeterministic) {
  const auto a = temp_dir() / "det-a.trace", b = temp_dir() / "det-b.trace";
  ASSERT_EQ(run_pprsim("shrink " + kSample + " --alloc shared --group-size 3 --seed 5 -o " + a.string()).status, 1);
  ASSERT_EQ(run_pprsim("shrink " + kSample + " --alloc shared --group-size 3 --seed 5 -o " + b.string()).status, 1);
  std::string ta = slurp(a), tb = slurp(b);
  // The comment names the output file; everything else is the same.
  ta = ta.substr(ta.find("pprtrace"));
  tb = tb.substr(tb.find("pprtrace"));
  EXPECT_EQ(ta, tb);
}

TEST(Shrink, AVerifiedTraceHasNothingToShrink) {
  const auto out = temp_dir() / "nothing.trace";
  std::filesystem::remove(out);
  const auto r = run_pprsim("shrink " + kSample + " --group-size 4 -o " + out.string());
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("nothing to shrink"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(Shrink, BadInputIsExitTwoAndWritesNothing) {
  const auto bad = temp_dir() / "bad.trace";
  std::ofstream(bad) << "pprtrace 1\na 0 8\nq 1\n";
  const auto out = temp_dir() / "bad-out.trace";
  std::filesystem::remove(out);
  const auto r = run_pprsim("shrink " + bad.string() + " --alloc shared -o " + out.string());
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("bad.trace:3:"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_EQ(run_pprsim("shrink " + kSample + " --alloc nosuch -o " + out.string()).status, 2);
}

TEST(Shrink, ACsappTraceUnderTheControlShrinksFromThousandsToAFew) {
  PPRSIM_REQUIRE_CSAPP(dir);
  const auto out = temp_dir() / "amptjp-shared.trace";
  const auto r = run_pprsim("shrink " + (dir / "amptjp-bal.rep").string() +
                            " --alloc shared --group-size 4 --ppr-every 50 -o " + out.string());
  ASSERT_EQ(r.status, 1) << r.out;
  EXPECT_LE(operations(slurp(out)), 4u) << slurp(out);
  EXPECT_EQ(run_pprsim("replay " + out.string() + " --alloc shared --group-size 4").status, 1);
}

// Every counterexample fuzz writes is minimized, and the command it prints reproduces it. (A
// content mismatch seen only by the fuzzer's frequent heap checks used to be written with a
// command that verified: the trace freed the object before the command line's first check.)
TEST(FuzzCounterexamples, AreSmallAndTheirCommandReproducesThem) {
  const auto dir = temp_dir() / "fuzz-out";
  std::filesystem::remove_all(dir);
  const auto r = run_pprsim("fuzz --alloc mutant:realloc-short-copy --runs 400 --seed 2 --out " + dir.string() +
                            " --json -");
  ASSERT_EQ(r.status, 1) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["counterexamples"].size(), 1u);
  const auto& c = j["counterexamples"][0];
  EXPECT_LE(c["events"].get<int>(), 8);
  std::string command = c["command"].get<std::string>();
  ASSERT_EQ(command.rfind("pprsim ", 0), 0u);
  const auto again = run_pprsim(command.substr(7));
  EXPECT_EQ(again.status, 1) << command << "\n" << again.out;
}

}  // namespace
}  // namespace pprsim
