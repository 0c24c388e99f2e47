// The figures of one run agree: the bytes in use that a failure reports can never exceed the
// peak_system_bytes reported beside it (a memalign-heavy trace whose serial re-run of a group
// runs out of simulated memory used to report a peak of 13.8 GB beside 16.9 GB in use).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <regex>

#include "props/tests/tools/cli_support.h"

namespace pprsim {
namespace {

using namespace test;

TEST(Peak, FailureBytesInUseNeverExceedThePeak) {
  TempDir dir("peak");
  const CliResult g = run_pprsim(dir.path(),
                                 "gen --events 300 --seed 3 --calloc 0 --memalign 1 --large-share 0.6 "
                                 "--max-size 3000000000 --ppr 1 -o ma.trace");
  ASSERT_EQ(g.status, 0) << g.out;
  for (const char* alloc : {"dmmalloc", "comalloc"}) {
    const CliResult r = run_pprsim(
        dir.path(), std::string("replay ma.trace --group-size 4 --ppr-every 2 --json - --alloc ") + alloc,
        "2>/dev/null");
    ASSERT_EQ(r.status, 1) << alloc << ": the run must fail (simulated memory runs out)";
    const auto j = nlohmann::json::parse(r.out);
    const std::string failure = j["failure"];
    std::smatch m;
    ASSERT_TRUE(std::regex_search(failure, m, std::regex(R"(\((\d+) of \d+ bytes in use\))")))
        << alloc << ": " << failure;
    EXPECT_LE(std::stoull(m[1].str()), j["peak_system_bytes"].get<std::uint64_t>())
        << alloc << ": " << failure;
  }
}

}  // namespace
}  // namespace pprsim
