// A fuzz campaign split over processes and shards checks the same runs as one process and
// reports the same result; run cases survive the trip through fuzzer bytes.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <chrono>
#include <thread>

#include "props/fuzz_report.h"
#include "props/fuzz_workers.h"
#include "props/fuzzing.h"
#include "props/minimize.h"
#include "props/run_case_bytes.h"
#include "traces/prng.h"

namespace pprsim {
namespace {

FuzzOptions shared_campaign(int runs, bool keep_going) {
  FuzzOptions opt;
  opt.allocator = "shared";
  opt.seed = 7;
  opt.runs = runs;
  opt.keep_going = keep_going;
  return opt;
}

std::vector<int> runs_of(const FuzzSession& s) {
  std::vector<int> out;
  for (const Counterexample& c : s.found) out.push_back(c.run);
  return out;
}

TEST(FuzzCampaign, RunSeedIsTheSplitmixStreamIndexedDirectly) {
  // Campaigns keep the cases they had when run seeds came from one sequential stream.
  std::uint64_t state = 42;
  for (int i = 0; i < 50; ++i) EXPECT_EQ(run_seed(42, i), splitmix64(state)) << i;
}

TEST(FuzzCampaign, WorkersFindWhatOneProcessFinds) {
  for (const bool keep_going : {false, true}) {
    const FuzzOptions opt = shared_campaign(40, keep_going);
    const FuzzSession one = fuzz(opt);
    for (const int jobs : {1, 2, 3}) {
      const FuzzSession many = fuzz_in_workers(opt, jobs);
      EXPECT_EQ(many.runs, one.runs) << jobs;
      ASSERT_EQ(runs_of(many), runs_of(one)) << jobs;
      for (std::size_t i = 0; i < one.found.size(); ++i) {
        EXPECT_EQ(many.found[i].violated, one.found[i].violated);
        EXPECT_EQ(trace_text(many.found[i].shrunk), trace_text(one.found[i].shrunk));
        EXPECT_EQ(replay_command(many.found[i].shrunk, "shared", "T"), replay_command(one.found[i].shrunk, "shared", "T"));
      }
    }
  }
}

TEST(FuzzCampaign, ProgressSeesRunsInIndexOrderAndCanStop) {
  FuzzOptions opt;
  opt.runs = 30;
  std::vector<int> seen;
  opt.progress = [&](const FuzzSession& s) {
    seen.push_back(s.runs);
    return s.runs < 12;
  };
  const FuzzSession s = fuzz_in_workers(opt, 3);
  EXPECT_EQ(s.runs, 12);
  std::vector<int> expected(12);
  for (int i = 0; i < 12; ++i) expected[static_cast<std::size_t>(i)] = i + 1;
  EXPECT_EQ(seen, expected);
}

TEST(FuzzCampaign, ALimitThatFallsBetweenTwoRunsStillEndsTheSessionAsTimeLimited) {
  // The limit passes while the first run is being reported, with no run in flight then: the
  // session still ended at the limit (`fuzz` printed nothing of it before: it counted cut runs).
  FuzzOptions opt;
  opt.runs = 1000;
  opt.max_seconds = 0.2;
  opt.progress = [](const FuzzSession&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    return true;
  };
  const FuzzSession s = fuzz_in_workers(opt, 1);
  EXPECT_TRUE(s.time_limited);
  EXPECT_LT(s.runs, 1000);
  EXPECT_GE(s.runs, 1);
}

TEST(FuzzCampaign, AnExceptionFromTheRunIsAFailure) {
  FuzzOptions opt;
  opt.allocator = "no-such-allocator";
  opt.runs = 3;
  const FuzzSession s = fuzz(opt);
  ASSERT_EQ(s.found.size(), 1u);
  EXPECT_EQ(s.found[0].run, 0);
  EXPECT_NE(s.found[0].violated.front().find("threw an exception"), std::string::npos) << s.found[0].violated.front();
}

FuzzReport report_of(const FuzzOptions& opt, const FuzzSession& s, Shard shard) {
  FuzzReport r;
  r.allocator = opt.allocator;
  r.seed = opt.seed;
  r.requested_runs = opt.runs;
  r.keep_going = opt.keep_going;
  r.shard = shard;
  r.runs = s.runs;
  for (const Counterexample& c : s.found) r.counterexamples.push_back({c.run, c.violated, c.shrunk.operations(), "t", "c"});
  return r;
}

TEST(FuzzCampaign, ShardsMergeIntoTheOneProcessReport) {
  for (const bool keep_going : {false, true}) {
    for (const int n : {1, 2, 3, 7}) {
      const FuzzOptions whole = shared_campaign(45, keep_going);
      const FuzzReport one = report_of(whole, fuzz(whole), Shard{});
      std::vector<FuzzReport> shards;
      std::vector<std::string> names;
      for (int k = n; k >= 1; --k) {  // any order
        FuzzOptions part = whole;
        part.first = k - 1;
        part.stride = n;
        shards.push_back(report_of(part, fuzz(part), Shard{k, n}));
        names.push_back("shard" + std::to_string(k));
        // Through JSON and back, as pprsim report reads them.
        shards.back() = read_fuzz_report(nlohmann::json::parse(fuzz_report_json(shards.back()).dump()), names.back());
      }
      const FuzzReport merged = merge_fuzz_shards(shards, names);
      EXPECT_EQ(fuzz_report_json(merged).dump(), fuzz_report_json(one).dump()) << n << " shards, keep going " << keep_going;
    }
  }
}

TEST(FuzzCampaign, AShardStoppedEarlyBoundsTheMergedRuns) {
  FuzzReport a, b;
  a.allocator = b.allocator = "dmmalloc";
  a.requested_runs = b.requested_runs = 10;
  a.shard = {1, 2};
  b.shard = {2, 2};
  a.runs = 5;  // runs 0 2 4 6 8
  b.runs = 2;  // runs 1 3, then stopped (time limit)
  a.counterexamples.push_back({6, {"x"}, 1, "t", "c"});
  a.keep_going = b.keep_going = true;
  const FuzzReport m = merge_fuzz_shards({a, b}, {"a", "b"});
  EXPECT_EQ(m.runs, 5);  // run 5 was not checked
  EXPECT_TRUE(m.counterexamples.empty());
}

TEST(FuzzCampaign, MergeRefusesShardsOfOtherCampaignsMissingOrTwice) {
  FuzzReport a;
  a.allocator = "dmmalloc";
  a.requested_runs = 10;
  a.shard = {1, 2};
  a.runs = 5;
  FuzzReport b = a;
  b.shard = {2, 2};
  EXPECT_NO_THROW(merge_fuzz_shards({a, b}, {"a", "b"}));
  EXPECT_THROW(merge_fuzz_shards({a}, {"a"}), ReportError);
  EXPECT_THROW(merge_fuzz_shards({a, a}, {"a", "a2"}), ReportError);
  for (int field = 0; field < 6; ++field) {
    FuzzReport c = b;
    switch (field) {
      case 0: c.allocator = "comalloc"; break;
      case 1: c.seed = 2; break;
      case 2: c.requested_runs = 12; break;
      case 3: c.shard = {2, 3}; break;
      case 4: c.faults = "oom=0.1"; break;
      case 5: c.keep_going = true; break;
    }
    EXPECT_THROW(merge_fuzz_shards({a, c}, {"a", "c"}), ReportError) << field;
  }
}

TEST(FuzzCampaign, MergeRefusesShardsOfTwoVersionsNamingBoth) {
  FuzzReport a;
  a.version = "1.4.0";
  a.allocator = "dmmalloc";
  a.requested_runs = 10;
  a.shard = {1, 2};
  a.runs = 5;
  FuzzReport b = a;
  b.shard = {2, 2};
  // The version travels through the JSON.
  b = read_fuzz_report(nlohmann::json::parse(fuzz_report_json(b).dump()), "b.json");
  EXPECT_EQ(b.version, "1.4.0");
  EXPECT_NO_THROW(merge_fuzz_shards({a, b}, {"a.json", "b.json"}));
  for (const char* other : {"1.5.0", ""}) {  // "": an older pprsim wrote no version
    b.version = other;
    try {
      merge_fuzz_shards({a, b}, {"a.json", "b.json"});
      ADD_FAILURE() << "merged shards of versions 1.4.0 and '" << other << "'";
    } catch (const ReportError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("b.json"), std::string::npos) << what;
      EXPECT_NE(what.find("1.4.0"), std::string::npos) << what;
      EXPECT_NE(what.find(*other ? other : "unknown version"), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  }
}

TEST(FuzzCampaign, ReadRefusesCounterexamplesTheShardDidNotCheck) {
  FuzzReport a;
  a.allocator = "dmmalloc";
  a.requested_runs = 10;
  a.shard = {2, 2};
  a.runs = 2;  // runs 1 and 3
  a.counterexamples.push_back({3, {"x"}, 1, "t", "c"});
  EXPECT_NO_THROW(read_fuzz_report(nlohmann::json::parse(fuzz_report_json(a).dump()), "a"));
  a.counterexamples[0].run = 5;  // not checked yet
  EXPECT_THROW(read_fuzz_report(nlohmann::json::parse(fuzz_report_json(a).dump()), "a"), ReportError);
  a.counterexamples[0].run = 2;  // another shard's
  EXPECT_THROW(read_fuzz_report(nlohmann::json::parse(fuzz_report_json(a).dump()), "a"), ReportError);
  auto j = nlohmann::json::parse(fuzz_report_json(a).dump());
  j.erase("requested_runs");
  EXPECT_THROW(read_fuzz_report(j, "a"), ReportError);
}

TEST(FuzzCampaign, ShardParsing) {
  EXPECT_EQ(Shard::parse("3/4"), (Shard{3, 4}));
  EXPECT_EQ(Shard::parse("1/1"), (Shard{1, 1}));
  for (const char* bad : {"", "0/4", "5/4", "1/0", "1", "/", "1/", "a/b", "-1/4", "+1/4", "1/4x", "1//4", "1/99999999999"}) {
    EXPECT_THROW(Shard::parse(bad), std::invalid_argument) << bad;
  }
  EXPECT_EQ((Shard{1, 3}).size(10), 4);
  EXPECT_EQ((Shard{3, 3}).size(10), 3);
  EXPECT_EQ((Shard{3, 3}).size(2), 0);
}

// What `pprsim shrink` makes of the counterexample, with its rules: the first kind of failure
// the trace shows kept, the trace as it is (no frees appended), no budget. Only a case whose one
// failure is blocks left handed out is judged by fuzz's own rule (shrink does not see it).
MinimizeResult shrink_again(const RunCase& c, const std::string& allocator) {
  FailureRules rules;
  std::vector<FindingKind> kinds = failure_kinds(run_case(c, allocator), rules);
  if (kinds.empty()) {
    rules.all_freed_at_end = true;
    kinds = failure_kinds(run_case(c, allocator), rules);
  }
  if (kinds.empty()) return {};
  RunCase candidate = c;
  auto still_fails = [&](const std::vector<Event>& t) {
    candidate.trace = t;
    const std::vector<FindingKind> k = failure_kinds(run_case(candidate, allocator), rules);
    return std::find(k.begin(), k.end(), kinds.front()) != k.end();
  };
  MinimizeOptions opt;
  opt.group_size = c.group_size;
  opt.free_all_at_end = rules.all_freed_at_end;
  return minimize_trace(c.trace, still_fails, opt);
}

// Every counterexample fuzz writes is 1-minimal as `pprsim shrink` sees it: shrinking it again
// removes nothing (no single event, PPR instance, lifetime or marker can go).
TEST(FuzzCampaign, CounterexamplesAreOneMinimalUnderShrinksRules) {
  int checked = 0;
  for (const std::uint64_t seed : {1, 5, 9}) {
    FuzzOptions opt = shared_campaign(25, true);
    opt.seed = seed;
    for (const Counterexample& c : fuzz_in_workers(opt, 2).found) {
      const MinimizeResult again = shrink_again(c.shrunk, "shared");
      ASSERT_TRUE(again.reproduced) << "run " << c.run << "\n" << trace_text(c.shrunk);
      EXPECT_TRUE(again.minimal);
      RunCase smaller = c.shrunk;
      smaller.trace = again.trace;
      EXPECT_EQ(smaller.operations(), c.shrunk.operations())
          << "seed " << seed << " run " << c.run << ": from\n" << trace_text(c.shrunk) << "to\n" << trace_text(smaller);
      ++checked;
    }
  }
  EXPECT_GT(checked, 10);
}

RC_GTEST_PROP(RunCaseBytes, GeneratedCasesSurviveTheTrip, ()) {
  const RunCase c = *gen_run_case(RunCaseOptions{.with_faults = true, .fixed_faults = {}});
  const std::string bytes = run_case_to_bytes(c);
  const RunCase back = run_case_from_bytes(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  RC_ASSERT(back.trace == c.trace);
  RC_ASSERT(back.group_size == c.group_size);
  RC_ASSERT(back.seed == c.seed);
  RC_ASSERT(back.understudy == c.understudy);
  RC_ASSERT(back.faults == c.faults);
}

RC_GTEST_PROP(RunCaseBytes, AnyBytesAreAValidCaseThatFreesEverything, (const std::vector<std::uint8_t>& bytes)) {
  const RunCase c = run_case_from_bytes(bytes.data(), bytes.size());
  // dmmalloc holds every property on it, so the case is a valid, fully freed run.
  const std::vector<std::string> v = violations(c, run_case(c, "dmmalloc"), "dmmalloc", false);
  RC_ASSERT(v.empty());
}

}  // namespace
}  // namespace pprsim
