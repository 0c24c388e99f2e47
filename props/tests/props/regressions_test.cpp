// Every counterexample the fuzzer ever found stays here as a named trace (props/regressions/),
// replayed with the command line its "# replay:" comment gives; each must verify.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>

#include "props/tests/test_support.h"

namespace pprsim {
namespace {

TEST(Regressions, EveryFoundCounterexampleNowVerifies) {
  const std::filesystem::path dir = std::filesystem::path(PPRSIM_SOURCE_DIR) / "props" / "regressions";
  int seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".trace") continue;
    std::ifstream in(entry.path());
    std::string line, args;
    while (std::getline(in, line)) {
      if (line.rfind("# replay:", 0) == 0) args = line.substr(9);
    }
    ASSERT_FALSE(args.empty()) << entry.path() << " has no '# replay:' line";
    const std::string cmd = std::string(PPRSIM_BINARY) + " replay " + entry.path().string() + args + " 2>&1";
    const auto [status, out] = test::run_shell(cmd);
    EXPECT_EQ(status, 0) << entry.path() << "\n" << out;
    ++seen;
  }
  EXPECT_GE(seen, 2);
}

}  // namespace
}  // namespace pprsim
