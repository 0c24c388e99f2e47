// Edge coverage of a plugin's own code (sim/plugin_edges.h): the example plugin built by clang
// with -fsanitize-coverage=trace-pc-guard,pc-table reports, per function of its symbol table,
// the edges a run took; each run its own; the same JSON for the same seed; and a plugin built
// without the flags says so.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "props/tests/test_support.h"
#include "sim/coverage.h"
#include "sim/coverage_report.h"
#include "sim/plugin_edges.h"
#include "sim/replay.h"
#include "sim/run_json.h"
#include "tools/html_coverage.h"
#include "traces/trace_reader.h"

namespace pprsim {
namespace {

using Json = nlohmann::ordered_json;

const std::string kCovPath = PPRSIM_COV_PLUGIN;
const std::string kCov = "plugin:" + kCovPath;
const std::string kPlain = "plugin:" + std::string(PPRSIM_PLUGIN_DIR) + "/pprsim_plugin_classes.so";
using test::kSample;

#define PPRSIM_REQUIRE_COV_PLUGIN()                                                                   \
  if (kCovPath.empty()) GTEST_SKIP() << "clang not found when configured: the example plugin was not " \
                                        "built with edge coverage (pprsim_plugin_classes_cov.so)"

RunStats replay_sample(const std::string& alloc, bool paranoid = false) {
  ReplayConfig cfg = test::config(alloc, 4);
  cfg.paranoid = paranoid;
  auto reader = open_trace(kSample);
  return replay(*reader, cfg);
}

// name -> (edges, reached) of a run's JSON coverage.
std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> functions_of(const Json& cov) {
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> out;
  for (const Json& f : cov.at("functions")) {
    out[f.at("name").get<std::string>()] = {f.at("edges").get<std::uint64_t>(), f.at("reached").get<std::uint64_t>()};
  }
  return out;
}

// The functions of the plugin's symbol table as nm lists them (code symbols), without the ones
// the C runtime and the coverage instrumentation add, which are never instrumented.
std::set<std::string> nm_functions(const std::string& path) {
  const test::CommandResult r = test::run_shell("nm --defined-only '" + path + "'");
  EXPECT_EQ(r.status, 0) << r.out;
  const std::set<std::string> added = {"_init", "_fini", "deregister_tm_clones", "register_tm_clones",
                                       "__do_global_dtors_aux", "frame_dummy"};
  std::set<std::string> out;
  std::istringstream lines(r.out);
  std::string addr;
  std::string kind;
  std::string name;
  while (lines >> addr >> kind >> name) {
    if ((kind == "t" || kind == "T") && added.count(name) == 0 && !name.starts_with("sancov.")) out.insert(name);
  }
  return out;
}

TEST(PluginEdges, TheSampleReportsEveryFunctionOfTheSymbolTable) {
  PPRSIM_REQUIRE_COV_PLUGIN();
  const RunStats s = replay_sample(kCov);
  ASSERT_TRUE(s.verified) << s.failure;
  const Json cov = coverage_json(s.coverage, kCov);
  ASSERT_TRUE(cov.at("edges").is_number()) << cov.dump(1);
  const auto fns = functions_of(cov);
  for (const std::string& name : nm_functions(kCovPath)) EXPECT_EQ(fns.count(name), 1u) << name << " missing";
  std::uint64_t edges = 0;
  std::uint64_t reached = 0;
  for (const auto& [name, f] : fns) {
    EXPECT_GT(f.first, 0u) << name;
    EXPECT_LE(f.second, f.first) << name;
    edges += f.first;
    reached += f.second;
  }
  EXPECT_EQ(cov.at("edges").get<std::uint64_t>(), edges);
  EXPECT_EQ(cov.at("edges_reached").get<std::uint64_t>(), reached);
  EXPECT_EQ(cov.at("function_count").get<std::uint64_t>(), fns.size());
  // The trace allocates and frees in tasks and merges their lists...
  for (const char* name : {"c_malloc", "c_free", "create", "group_init", "task_init", "merge"}) {
    EXPECT_GT(fns.at(name).second, 0u) << name;
  }
  // ...and a run that is not paranoid never calls verify().
  EXPECT_EQ(fns.at("verify").second, 0u);
  // Never reached first, then by name.
  bool seen_reached = false;
  std::string last;
  for (const Json& f : cov.at("functions")) {
    const bool r = f.at("reached").get<std::uint64_t>() != 0;
    const std::string name = f.at("name").get<std::string>();
    EXPECT_FALSE(seen_reached && !r) << name << " never reached, listed after a reached one";
    if (r == seen_reached) {
      EXPECT_LT(last, name);
    }
    seen_reached = r;
    last = name;
  }
}

TEST(PluginEdges, EachRunHasItsOwnEdges) {
  PPRSIM_REQUIRE_COV_PLUGIN();
  const Json first = coverage_json(replay_sample(kCov).coverage, kCov);
  const Json paranoid = coverage_json(replay_sample(kCov, true).coverage, kCov);
  const Json again = coverage_json(replay_sample(kCov).coverage, kCov);
  EXPECT_EQ(first, again);  // the counters persist in the process; the runs' edges do not add up
  EXPECT_GT(functions_of(paranoid).at("verify").second, 0u);
  EXPECT_EQ(functions_of(again).at("verify").second, 0u);
  // Two runs merged (as fuzz shards are): every edge either took, recounted.
  const Json merged = merge_coverage_json(first, paranoid);
  ASSERT_TRUE(merged.is_object());
  EXPECT_EQ(functions_of(merged).at("verify"), functions_of(paranoid).at("verify"));
  EXPECT_GE(merged.at("edges_reached").get<std::uint64_t>(), paranoid.at("edges_reached").get<std::uint64_t>());
  EXPECT_EQ(merged.at("edges"), first.at("edges"));
}

TEST(PluginEdges, TheTextLineNamesTheFunctionsNeverReached) {
  PPRSIM_REQUIRE_COV_PLUGIN();
  const RunStats s = replay_sample(kCov);
  std::ostringstream out;
  print_coverage(out, s.coverage, kCov);
  const std::string text = out.str();
  EXPECT_NE(text.find("  coverage: exercised "), std::string::npos) << text;
  EXPECT_NE(text.find(" functions of " + kCov + "; never: "), std::string::npos) << text;
  EXPECT_NE(text.find("verify"), std::string::npos) << text;
}

TEST(PluginEdges, APluginWithoutCoverageSaysHowToGetIt) {
  const RunStats s = replay_sample(kPlain);
  ASSERT_TRUE(s.verified) << s.failure;
  EXPECT_EQ(edge_map(kPlain), nullptr);
  EXPECT_EQ(coverage_text(s.coverage, kPlain),
            "no edge coverage: build the plugin with clang -fsanitize-coverage=trace-pc-guard,pc-table\n");
  const Json cov = coverage_json(s.coverage, kPlain);
  EXPECT_TRUE(cov.at("edges").is_null());
  EXPECT_EQ(cov.at("no_edges"), "build the plugin with clang -fsanitize-coverage=trace-pc-guard,pc-table");
  EXPECT_NE(html_coverage(Json{{"coverage", cov}}).find("no edge coverage"), std::string::npos);
}

TEST(PluginEdges, BuiltInAllocatorsKeepTheirCoverageKeys) {
  const Json cov = coverage_json(replay_sample("dmmalloc").coverage, "dmmalloc");
  std::vector<std::string> keys;
  for (const auto& [k, v] : cov.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"paths", "exercised", "pairs", "probes"}));
  EXPECT_EQ(coverage_text(Coverage{}, "dmmalloc").find("edges"), std::string::npos);
}

TEST(PluginEdges, TheHtmlTableListsTheFunctionsNeverReachedFirst) {
  PPRSIM_REQUIRE_COV_PLUGIN();
  const Json run = run_to_json(replay_sample(kCov));
  const std::string html = html_coverage(run);
  const auto table = html.find("<table class=\"coverage edges\">");
  ASSERT_NE(table, std::string::npos) << html;
  const auto never = html.find("<tr class=\"never\"", table);
  const auto hit = html.find("<tr class=\"hit\"", table);
  ASSERT_NE(never, std::string::npos);
  ASSERT_NE(hit, std::string::npos);
  EXPECT_LT(never, hit);
  EXPECT_NE(html.find("<td>verify</td>", table), std::string::npos);
}

// The JSON of a run as text, without its one measured field ("seconds").
std::string json_without_time(const std::string& out) {
  Json j = Json::parse(out);
  j.erase("seconds");
  return j.dump(2);
}

// Through the command: the program exports the hooks the plugin calls, and one seed gives one
// JSON, byte for byte but for the time the run took.
TEST(PluginEdges, TheCommandsJsonIsTheSameForOneSeed) {
  PPRSIM_REQUIRE_COV_PLUGIN();
  const std::string cmd = "replay " + kSample + " --alloc " + kCov + " --group-size 4 --seed 3 --json -";
  const test::CommandResult a = test::run_pprsim(cmd);
  const test::CommandResult b = test::run_pprsim(cmd);
  ASSERT_EQ(a.status, 0) << a.out;
  EXPECT_EQ(json_without_time(a.out), json_without_time(b.out));
  const Json j = Json::parse(a.out);
  EXPECT_GT(j.at("coverage").at("edges_reached").get<std::uint64_t>(), 0u);
  const test::CommandResult text = test::run_pprsim("replay " + kSample + " --alloc " + kCov + " --group-size 4");
  EXPECT_NE(text.out.find(" edges in "), std::string::npos) << text.out;
}

// A fuzz campaign over worker processes and shards: the workers' edges reach the campaign's
// coverage, and `pprsim report` merges the shards' into the whole campaign's.
TEST(PluginEdges, FuzzMergesRunsAndShards) {
  PPRSIM_REQUIRE_COV_PLUGIN();
  test::TempDir dir("plugin_edges");
  const std::string base = "fuzz --alloc " + kCov + " --runs 40 --seed 1 --jobs 2";
  const test::CommandResult whole = test::run_pprsim(base + " --json " + (dir / "whole.json").string());
  ASSERT_EQ(whole.status, 0) << whole.out;
  EXPECT_NE(whole.out.find(" edges in "), std::string::npos) << whole.out;
  for (const char* shard : {"1/2", "2/2"}) {
    const test::CommandResult r = test::run_pprsim(base + " --shard " + shard + " --json " +
                                                   (dir / (std::string("s") + shard[0] + ".json")).string());
    ASSERT_EQ(r.status, 0) << r.out;
  }
  const test::CommandResult merged = test::run_pprsim("report " + (dir / "s1.json").string() + " " +
                                                      (dir / "s2.json").string() + " --json " +
                                                      (dir / "merged.json").string());
  ASSERT_EQ(merged.status, 0) << merged.out;
  const auto read = [&](const char* name) {
    std::ifstream in(dir / name);
    return Json::parse(in);
  };
  const Json w = read("whole.json").at("coverage");
  const Json m = read("merged.json").at("coverage");
  EXPECT_GT(w.at("edges_reached").get<std::uint64_t>(), 0u);
  EXPECT_EQ(m.at("functions"), w.at("functions"));
}

}  // namespace
}  // namespace pprsim
