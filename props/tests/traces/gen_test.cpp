// The trace generator: the same options give the same bytes, every setting of the knobs gives a
// trace the native reader accepts, and the knobs do what they say.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "props/tests/test_support.h"
#include "traces/generator.h"
#include "traces/trace_reader.h"
#include "traces/trace_validator.h"
#include "traces/trace_writer.h"

namespace pprsim {
namespace {

std::string generate_text(const GenOptions& opt) {
  std::ostringstream out;
  TraceWriter writer(out, describe(opt));
  generate(opt, writer);
  return out.str();
}

// Reads `text` back with the native reader (which validates every event).
std::vector<Event> parse(const std::string& text) {
  std::istringstream in(text);
  auto reader = read_native(in, "generated.trace");
  std::vector<Event> out;
  Event ev;
  while (reader->next(ev)) out.push_back(ev);
  return out;
}

std::uint64_t operations(const std::vector<Event>& events) {
  return static_cast<std::uint64_t>(std::count_if(
      events.begin(), events.end(), [](const Event& e) { return is_operation(e.op); }));
}

GenOptions small(std::uint64_t seed, std::uint64_t events = 5000) {
  GenOptions o;
  o.seed = seed;
  o.events = events;
  return o;
}

TEST(Generator, SameSeedSameBytes) {
  GenOptions o = small(11);
  o.cross_free = kMillion / 10;
  o.sharing = kMillion / 10;
  const std::string a = generate_text(o);
  const std::string b = generate_text(o);
  EXPECT_EQ(a, b);
  EXPECT_GT(a.size(), 10000u);
}

TEST(Generator, DifferentSeedDifferentBytes) {
  const std::string a = generate_text(small(1));
  const std::string b = generate_text(small(2));
  EXPECT_NE(a.substr(a.find("pprtrace")), b.substr(b.find("pprtrace")));
}

TEST(Generator, KnownTraceForSeed1) {
  // Pins the stream: a change here changes every generated trace (and what every seed means).
  const std::string text = generate_text(small(1, 12));
  EXPECT_EQ(text.substr(text.find("pprtrace")),
            "pprtrace 1\na 0 14\nu 0 10 1\nu 0 13 1\nppr\na 1 17\nu 0 5 5\nf 0\nu 1 15 2\n"
            "w 1 3 10\nu 1 12 3\nend\na 0 5\nw 1 12 5\nu 0 3 1\n");
}

TEST(Generator, CountsOperationsNotMarkers) {
  for (const std::uint64_t n : {0u, 1u, 7u, 1000u}) {
    const auto events = parse(generate_text(small(3, n)));
    EXPECT_EQ(operations(events), n);
  }
}

TEST(Generator, PprShareAndCount) {
  GenOptions o = small(5, 10000);
  o.ppr_share = 0;
  auto events = parse(generate_text(o));
  EXPECT_EQ(std::count_if(events.begin(), events.end(),
                          [](const Event& e) { return e.op == Op::PprBegin; }),
            0);

  o.ppr_is_count = true;
  o.ppr_count = 17;
  o.ppr_length = 30;
  events = parse(generate_text(o));
  EXPECT_EQ(std::count_if(events.begin(), events.end(),
                          [](const Event& e) { return e.op == Op::PprBegin; }),
            17);
  // Every instance has ppr_length operations.
  std::uint64_t in_instance = 0;
  bool inside = false;
  for (const Event& e : events) {
    if (e.op == Op::PprBegin) {
      inside = true;
      in_instance = 0;
    } else if (e.op == Op::PprEnd) {
      inside = false;
      EXPECT_EQ(in_instance, 30u);
    } else if (inside) {
      ++in_instance;
    }
  }

  o.ppr_is_count = false;
  o.ppr_share = kMillion;  // everything inside instances
  events = parse(generate_text(o));
  inside = false;
  for (const Event& e : events) {
    if (e.op == Op::PprBegin)
      inside = true;
    else if (e.op == Op::PprEnd)
      inside = false;
    else
      EXPECT_TRUE(inside) << "line " << e.line;
  }
}

TEST(Generator, SizesStayInTheirRange) {
  for (const SizeDistribution d :
       {SizeDistribution::Small, SizeDistribution::PowerLaw, SizeDistribution::Uniform}) {
    GenOptions o = small(9, 20000);
    o.sizes = d;
    o.max_size = 1000;
    std::uint64_t largest = 0;
    for (const Event& e : parse(generate_text(o))) {
      if (e.op == Op::Malloc || e.op == Op::Realloc || e.op == Op::Memalign || e.op == Op::Calloc) {
        EXPECT_GE(requested_bytes(e), 1u);
        EXPECT_LE(requested_bytes(e), 1000u);
        largest = std::max(largest, requested_bytes(e));
      }
    }
    EXPECT_GT(largest, d == SizeDistribution::Small ? 256u : 512u) << size_distribution_name(d);
  }
}

TEST(Generator, LargeShare) {
  GenOptions o = small(4, 4000);
  o.large_share = kMillion;
  o.max_size = 4 << 20;
  for (const Event& e : parse(generate_text(o))) {
    if (e.op == Op::Malloc || e.op == Op::Realloc || e.op == Op::Memalign || e.op == Op::Calloc) {
      EXPECT_GT(requested_bytes(e) + 16,
                kLargeObjectBytes);  // calloc rounds down to whole elements
      EXPECT_LE(requested_bytes(e), std::uint64_t{4} << 20);
    }
  }
  o.large_share = kMillion / 10;
  o.max_size = 1000;
  std::uint64_t large = 0, all = 0;
  for (const Event& e : parse(generate_text(o))) {
    if (e.op == Op::Malloc || e.op == Op::Memalign || e.op == Op::Calloc) {
      ++all;
      large += requested_bytes(e) > 1000 ? 1 : 0;
    }
  }
  EXPECT_GT(large, all / 20);
  EXPECT_LT(large, all / 5);
}

TEST(Generator, MaxLiveBoundsLiveObjectsAndIds) {
  GenOptions o = small(6, 30000);
  o.lifetime = 1000000;  // nothing would die on its own
  o.max_live = 64;
  std::set<std::int64_t> live;
  std::int64_t top = 0;
  for (const Event& e : parse(generate_text(o))) {
    if (e.op == Op::Malloc || e.op == Op::Calloc || e.op == Op::Memalign) live.insert(e.id);
    if (e.op == Op::Free) live.erase(e.id);
    EXPECT_LE(live.size(), 64u);
    top = std::max(top, e.id);
  }
  // Ids stay near the bound: live objects plus the frees of one run of instances.
  EXPECT_LT(top, 64 + 8 * 50);
}

TEST(Generator, LifetimeIsTheMeanLifeOfAnObject) {
  GenOptions o = small(8, 200000);
  o.lifetime = 300;
  o.ppr_share = 0;
  std::map<std::int64_t, std::uint64_t> born;
  std::uint64_t step = 0, total = 0, deaths = 0;
  for (const Event& e : parse(generate_text(o))) {
    ++step;
    if (e.op == Op::Malloc || e.op == Op::Calloc || e.op == Op::Memalign) born[e.id] = step;
    if (e.op == Op::Free) {
      total += step - born[e.id];
      ++deaths;
    }
  }
  const std::uint64_t mean = total / deaths;
  EXPECT_GT(mean, 200u);
  EXPECT_LT(mean, 400u);
}

// With cross_free and sharing 0, no instance touches an object another instance allocated.
TEST(Generator, IndependentInstancesByDefault) {
  const GenOptions o = small(12, 50000);
  std::map<std::int64_t, int> owner;  // id -> instance that allocated it (-1: SEQ)
  int instance = -1, count = 0;
  for (const Event& e : parse(generate_text(o))) {
    if (e.op == Op::PprBegin)
      instance = count++;
    else if (e.op == Op::PprEnd)
      instance = -1;
    else if (e.op == Op::Malloc || e.op == Op::Calloc || e.op == Op::Memalign)
      owner[e.id] = instance;
    else if (instance >= 0 && e.id >= 0) {
      const int o2 = owner.at(e.id);
      EXPECT_TRUE(o2 == instance || (o2 == -1 && (e.op == Op::Use || e.op == Op::Free)))
          << "line " << e.line << ": instance " << instance << " takes object " << e.id
          << " of instance " << o2;
    }
  }
  EXPECT_GT(count, 100);
}

TEST(Generator, CrossFreeAndSharingReachEarlierInstances) {
  GenOptions o = small(13, 50000);
  o.cross_free = kMillion / 2;
  o.sharing = kMillion / 2;
  std::map<std::int64_t, int> owner;
  int instance = -1, count = 0;
  std::uint64_t cross_frees = 0, shared = 0;
  for (const Event& e : parse(generate_text(o))) {
    if (e.op == Op::PprBegin)
      instance = count++;
    else if (e.op == Op::PprEnd)
      instance = -1;
    else if (e.op == Op::Malloc || e.op == Op::Calloc || e.op == Op::Memalign)
      owner[e.id] = instance;
    else if (instance >= 0 && e.id >= 0 && owner.at(e.id) >= 0 && owner.at(e.id) < instance)
      (e.op == Op::Free ? cross_frees : shared) += 1;
  }
  EXPECT_GT(cross_frees, 100u);
  EXPECT_GT(shared, 100u);
}

RC_GTEST_PROP(GeneratorProps, EveryKnobSettingGivesAValidTrace, ()) {
  GenOptions o;
  o.seed = *rc::gen::arbitrary<std::uint64_t>();
  o.events = *rc::gen::inRange<std::uint64_t>(0, 3000);
  o.ppr_is_count = *rc::gen::arbitrary<bool>();
  o.ppr_share = *rc::gen::inRange<std::uint64_t>(0, kMillion + 1);
  o.ppr_count = *rc::gen::inRange<std::uint64_t>(0, 200);
  o.ppr_length = *rc::gen::inRange<std::uint64_t>(1, 300);
  o.ppr_run = *rc::gen::inRange<std::uint64_t>(1, 20);
  o.sizes = *rc::gen::element(SizeDistribution::Small, SizeDistribution::PowerLaw,
                              SizeDistribution::Uniform);
  o.max_size = *rc::gen::oneOf(rc::gen::inRange<std::uint64_t>(1, 5000),
                               rc::gen::inRange<std::uint64_t>(1, kMaxObjectBytes + 1));
  o.large_share = *rc::gen::oneOf(rc::gen::just<std::uint64_t>(0),
                                  rc::gen::inRange<std::uint64_t>(0, kMillion + 1));
  o.lifetime = *rc::gen::inRange<std::uint64_t>(1, 5000);
  o.cross_free = *rc::gen::inRange<std::uint64_t>(0, kMillion + 1);
  o.calloc = *rc::gen::inRange<std::uint64_t>(0, kMillion / 2 + 1);
  o.memalign = *rc::gen::inRange<std::uint64_t>(0, kMillion / 2 + 1);
  o.realloc = *rc::gen::inRange<std::uint64_t>(0, 3 * kMillion);
  o.writes = *rc::gen::inRange<std::uint64_t>(0, 5 * kMillion);
  o.reads = *rc::gen::inRange<std::uint64_t>(0, 5 * kMillion);
  o.sharing = *rc::gen::inRange<std::uint64_t>(0, kMillion + 1);
  o.max_live = *rc::gen::inRange<std::uint64_t>(1, 300);
  RC_ASSERT(validate(o).empty());
  RC_TAG(o.ppr_is_count ? "count" : "share");
  const std::string text = generate_text(o);
  std::vector<Event> events;
  try {
    events = parse(text);
  } catch (const TraceError& e) {
    RC_FAIL(std::string(e.what()) + "\noptions: " + describe(o));
  }
  RC_ASSERT(operations(events) == o.events);
  RC_ASSERT(text == generate_text(o));
}

TEST(GeneratorOptions, Validate) {
  EXPECT_EQ(validate(GenOptions{}), "");
  GenOptions o;
  o.ppr_length = 0;
  EXPECT_EQ(validate(o), "--ppr-length: must be at least 1");
  o = GenOptions{};
  o.max_live = 0;
  EXPECT_NE(validate(o).find("--max-live"), std::string::npos);
  o = GenOptions{};
  o.sharing = kMillion + 1;
  EXPECT_EQ(validate(o), "--sharing: 1.000001 is more than 1");
  o = GenOptions{};
  o.calloc = kMillion / 2 + 1;
  o.memalign = kMillion / 2;
  EXPECT_NE(validate(o).find("add up to more than 1"), std::string::npos);
  o = GenOptions{};
  o.max_size = kMaxObjectBytes + 1;
  EXPECT_NE(validate(o).find("--max-size"), std::string::npos);
}

TEST(GeneratorOptions, Millionths) {
  std::uint64_t v = 0;
  std::string err;
  EXPECT_TRUE(parse_millionths("0.25", kMillion, v, err));
  EXPECT_EQ(v, 250000u);
  EXPECT_TRUE(parse_millionths("25%", kMillion, v, err));
  EXPECT_EQ(v, 250000u);
  EXPECT_TRUE(parse_millionths("12.5%", kMillion, v, err));
  EXPECT_EQ(v, 125000u);
  EXPECT_TRUE(parse_millionths("3", 10 * kMillion, v, err));
  EXPECT_EQ(v, 3 * kMillion);
  EXPECT_TRUE(parse_millionths(".5", kMillion, v, err));
  EXPECT_EQ(v, 500000u);
  EXPECT_TRUE(parse_millionths("0.000001", kMillion, v, err));
  EXPECT_EQ(v, 1u);
  EXPECT_FALSE(parse_millionths("0.0000001", kMillion, v, err));
  EXPECT_NE(err.find("more than 6 decimals"), std::string::npos);
  EXPECT_FALSE(parse_millionths("1.5", kMillion, v, err));
  EXPECT_NE(err.find("too large"), std::string::npos);
  for (const char* bad : {"", ".", "-1", "1e3", "0.5.5", "abc", "%", "1 "}) {
    EXPECT_FALSE(parse_millionths(bad, kMillion, v, err)) << bad;
  }
  EXPECT_FALSE(parse_millionths("99999999999999999999999", kMillion, v, err));
  EXPECT_EQ(format_millionths(250000), "0.25");
  EXPECT_EQ(format_millionths(kMillion), "1");
  EXPECT_EQ(format_millionths(1), "0.000001");
  EXPECT_EQ(format_millionths(0), "0");
}

// ---- The command ----

using CmdResult = test::CommandResult;

CmdResult pprsim_gen(const std::string& args, bool with_stderr = true) {
  return test::run_shell(std::string(PPRSIM_BINARY) + " gen " + args + (with_stderr ? " 2>&1" : ""));
}

TEST(GenCommand, StdoutAndFileAreTheSameBytes) {
  const CmdResult a = pprsim_gen("--seed 3 --events 2000 --cross-free 0.1 --sizes uniform", false);
  const CmdResult b = pprsim_gen("--seed 3 --events 2000 --cross-free 0.1 --sizes uniform", false);
  ASSERT_EQ(a.status, 0);
  EXPECT_EQ(a.out, b.out);
  const std::string path =
      ::testing::TempDir() + "pprsim_gen_" + std::to_string(::getpid()) + ".trace";
  ASSERT_EQ(pprsim_gen("--seed 3 --events 2000 --cross-free 10% --sizes uniform -o " + path).status,
            0);
  EXPECT_EQ(test::slurp(path), a.out);
  std::remove(path.c_str());
  // The header comment says how to make it again.
  EXPECT_EQ(a.out.rfind("# pprsim gen --seed 3 --events 2000 --ppr 0.5 ", 0), 0u)
      << a.out.substr(0, 200);
  EXPECT_NE(pprsim_gen("--seed 4 --events 2000 --cross-free 0.1 --sizes uniform", false).out,
            a.out);
}

TEST(GenCommand, TheHeaderReproducesTheTrace) {
  const CmdResult a =
      pprsim_gen("--seed 21 --events 500 --ppr 7 --ppr-length 20 --realloc 0.5", false);
  ASSERT_EQ(a.status, 0);
  const std::string first = a.out.substr(2, a.out.find('\n') - 2);  // "pprsim gen ..."
  const CmdResult b = pprsim_gen(first.substr(std::string("pprsim gen ").size()), false);
  EXPECT_EQ(b.out, a.out);
}

TEST(GenCommand, BadOptions) {
  for (const char* args : {"--ppr 1.5", "--ppr x", "--writes abc", "--sizes huge", "--ppr-length 0",
                           "--max-live 0", "--calloc 0.6 --memalign 0.6", "--sharing 2"}) {
    const CmdResult r = pprsim_gen(args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.out;
    EXPECT_EQ(r.out.find("pprsim"), 0u) << r.out;
  }
}

}  // namespace
}  // namespace pprsim
