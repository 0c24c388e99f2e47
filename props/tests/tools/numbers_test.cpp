// Numbers are exact or refused: every numeric option out of its type's range, NaN, infinite,
// negative where it cannot be, or empty is exit status 2 naming the option, and nothing runs
// (no output file appears). Also empty file names and a fault kind given twice.
#include <gtest/gtest.h>

#include <vector>

#include "props/tests/tools/cli_support.h"

namespace pprsim {
namespace {

using namespace test;

using test::kSample;

struct Refused {
  std::string args;
  std::string named;  // what the error must name
};

TEST(Numbers, OutOfRangeNanInfiniteNegativeOrEmptyIsRefusedNamingTheOption) {
  TempDir dir("numbers");
  const std::string replay = "replay " + kSample + " --json out.json ";
  const std::vector<Refused> cases = {
      {replay + "--seed 18446744073709551616", "--seed"},
      {replay + "--seed 99999999999999999999999", "--seed"},
      {replay + "--seed ''", "--seed"},
      {replay + "--seed -1", "--seed"},
      {replay + "--seed 1.5", "--seed"},
      {replay + "--seed 0x10", "--seed"},
      {replay + "--seed 1e3", "--seed"},
      {replay + "--seed 1_000", "--seed"},
      {replay + "--check-every 0x10", "--check-every"},
      {replay + "--check-every 0b11", "--check-every"},
      {"shrink " + kSample + " -o out.trace --group-size 0x10", "--group-size"},
      {"shrink " + kSample + " -o out.trace --check-every 0x10", "--check-every"},
      {"bench " + kSample + " --json out.json --rounds 0x2", "--rounds"},
      {replay + "--ppr-every 99999999999999999999999", "--ppr-every"},
      {replay + "--ppr-every ''", "--ppr-every"},
      {replay + "--group-size 99999999999999999999", "--group-size"},
      {replay + "--group-size 0", "--group-size"},
      {replay + "--group-size ''", "--group-size"},
      {replay + "--faults oom=0.1,oom=0.2", "--faults"},
      {replay + "--faults task-abort=0.1,fork-fail=0.1,task-abort=0.1", "--faults"},
      {"replay " + kSample + " --json ''", "--json"},
      {"fuzz --runs 1 --out cx --json out.json --max-seconds nan", "--max-seconds"},
      {"fuzz --runs 1 --out cx --json out.json --max-seconds -1", "--max-seconds"},
      {"fuzz --runs 1 --out cx --json out.json --max-seconds inf", "--max-seconds"},
      {"fuzz --runs 1 --out cx --json out.json --max-seconds ''", "--max-seconds"},
      {"fuzz --runs 1 --out cx --json out.json --max-seconds 1e999", "--max-seconds"},
      {"fuzz --runs 1 --out cx --json out.json --case-seconds nan", "--case-seconds"},
      {"fuzz --runs 1 --out cx --json out.json --case-seconds 0", "--case-seconds"},
      {"fuzz --runs 1 --out cx --json out.json --case-seconds -1", "--case-seconds"},
      {"fuzz --runs 1 --out cx --json out.json --case-seconds inf", "--case-seconds"},
      {"fuzz --runs 99999999999 --out cx --json out.json", "--runs"},
      {"fuzz --runs 1 --out cx --json out.json --seed 18446744073709551616", "--seed"},
      {"fuzz --runs 1 --out cx --json ''", "--json"},
      {"fuzz --runs 1 --out '' --json out.json", "--out"},
      {"fuzz --runs 1 --out cx --json out.json --faults oom=0.5,oom=0.5", "--faults"},
      {"selftest --runs 1 --seed '' --json out.json", "--seed"},
      {"selftest --runs 0 --json out.json", "--runs"},
      {"gen --events 18446744073709551616 -o out.trace", "--events"},
      {"gen --events '' -o out.trace", "--events"},
      {"gen --seed 18446744073709551616 -o out.trace", "--seed"},
      {"gen --max-size 99999999999999999999 -o out.trace", "--max-size"},
      {"gen --lifetime -5 -o out.trace", "--lifetime"},
      {"gen --max-live '' -o out.trace", "--max-live"},
      {"gen --ppr-length 18446744073709551616 -o out.trace", "--ppr-length"},
      {"gen --ppr 99999999999999999999999 -o out.trace", "--ppr"},
      {"gen --events 10 -o ''", "--output"},
      {"convert " + kSample + " ''", "OUT"},
      {"record -o '' -- true", "--output"},
  };
  for (const Refused& c : cases) {
    const CliResult r = run_pprsim(dir.path(), c.args);
    EXPECT_EQ(r.status, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.named), std::string::npos) << c.args << "\n" << r.out;
    EXPECT_TRUE(listing(dir.path()).empty()) << c.args;
  }
}

TEST(Numbers, TheLargestValueOfATypeIsStillAccepted) {
  TempDir dir("numbers_max");
  for (const std::string& args :
       {"replay " + kSample + " --seed 18446744073709551615 --ppr-every 18446744073709551615",
        std::string("gen --events 3 --seed 18446744073709551615 -o out.trace")}) {
    const CliResult r = run_pprsim(dir.path(), args);
    EXPECT_EQ(r.status, 0) << args << "\n" << r.out;
  }
}

// Decimal only: a leading zero is still decimal (010 is ten, 09 is nine), never octal.
TEST(Numbers, ALeadingZeroIsDecimalInEveryCommand) {
  TempDir dir("numbers_decimal");
  for (const char* seed : {"010", "0010"}) {
    const CliResult r = run_pprsim(dir.path(), "replay " + kSample + " --seed " + seed + " --json -", "2>/dev/null");
    EXPECT_NE(r.out.find("\"seed\": 10,"), std::string::npos) << seed << "\n" << r.out;
  }
  const CliResult nine = run_pprsim(dir.path(), "replay " + kSample + " --seed 09 --json -", "2>/dev/null");
  EXPECT_EQ(nine.status, 0) << nine.out;
  EXPECT_NE(nine.out.find("\"seed\": 9,"), std::string::npos) << nine.out;
  const CliResult group = run_pprsim(dir.path(), "replay " + kSample + " --group-size 010 --json -", "2>/dev/null");
  EXPECT_NE(group.out.find("\"group_size\": 10,"), std::string::npos) << group.out;
  const CliResult a = run_pprsim(dir.path(), "gen --seed 010 --events 010 --ppr-length 08 -o -", "2>&1");
  const CliResult b = run_pprsim(dir.path(), "gen --seed 10 --events 10 --ppr-length 8 -o -", "2>&1");
  EXPECT_EQ(a.status, 0) << a.out;
  EXPECT_EQ(a.out, b.out);
}

}  // namespace
}  // namespace pprsim
