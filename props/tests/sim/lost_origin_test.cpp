// A lost block is named with the group (and the step of it) where it went missing, even when the
// default incremental checks find it many groups later: the first place named is the group whose
// own heap check fails when every check is full.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <regex>
#include <string>

#include "props/tests/tools/cli_support.h"

namespace pprsim {
namespace {

namespace fs = std::filesystem;

struct Dir {
  fs::path path = fs::temp_directory_path() / ("pprsim_lost_origin_" + std::to_string(::getpid()));
  Dir() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Dir() { fs::remove_all(path); }
};

int group_in(const std::string& text) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex("group (\\d+)"))) return -1;
  return std::stoi(m[1]);
}

TEST(LostOrigin, TheFirstPlaceNamedIsWhereAFullCheckAfterEveryGroupFails) {
  const Dir d;
  ASSERT_EQ(test::run_pprsim(d.path, "gen --seed 3 --events 3000 -o g.trace").status, 0);
  for (const char* mutant : {"merge-drops-deferred", "merge-drops-unused"}) {
    const std::string args = std::string("replay g.trace --alloc mutant:") + mutant + " --group-size 4 --ppr-every 20";
    const auto lazy = test::run_pprsim(d.path, args + " --json -", "2>/dev/null");
    ASSERT_EQ(lazy.status, 1) << mutant << ": " << lazy.out;
    const auto j = nlohmann::json::parse(lazy.out);
    ASSERT_FALSE(j["lost_block_origins"].empty()) << mutant;
    const auto& first = j["lost_block_origins"][0];
    EXPECT_NE(first["addr"].get<std::uint64_t>(), 0u) << mutant;
    const std::string where = first["where"];
    EXPECT_NE(where.find("at the commit of group"), std::string::npos) << where;

    const auto eager = test::run_pprsim(d.path, args + " --full-check-every 1 --json -", "2>/dev/null");
    const auto k = nlohmann::json::parse(eager.out);
    EXPECT_EQ(group_in(where), group_in(k["failure"].get<std::string>())) << mutant << ": " << where << " / "
                                                                           << k["failure"];
    // The lazy run found them later than they went missing.
    EXPECT_LT(group_in(where), group_in(j["failure"].get<std::string>())) << mutant;
    // Every lost block the run counted is placed, each once.
    std::set<std::uint64_t> addrs;
    for (const auto& o : j["lost_block_origins"]) addrs.insert(o["addr"].get<std::uint64_t>());
    EXPECT_EQ(addrs.size(), j["lost_block_origins"].size()) << mutant;
  }
}

TEST(LostOrigin, AFirstCheckThatFailsNamesTheGroupTooAndTheTextSaysIt) {
  const Dir d;
  const auto r = test::run_pprsim(d.path, "replay " + test::kSample + " --alloc mutant:merge-drops-unused --group-size 4 --ppr-every 20");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("  lost: 8 blocks went missing at the commit of group 0 (task 0 committed, then the merge): "),
            std::string::npos)
      << r.out;
  // Groups are numbered from 0 everywhere: the stop line names the same group.
  EXPECT_NE(r.out.find("stopped: the heap check after group 0 failed"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace pprsim
