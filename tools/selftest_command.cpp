// pprsim selftest: proves the property suite strong by seeding known bugs into dmmalloc
// (alloc/mutants.h) and fuzzing each mutant until a counterexample turns up.
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "sim/json_text.h"
#include "alloc/mutants.h"
#include "props/fuzz_guided.h"
#include "props/fuzzing.h"
#include "tools/trace_coverage.h"
#include "traces/trace_reader.h"
#include "sim/sim_allocator.h"
#include "tools/commands.h"
#include "traces/output_set.h"

namespace pprsim {

namespace {

struct SelftestArgs {
  int runs = 2000;
  std::uint64_t seed = 1;
  std::string json;
  std::string alloc;  // empty: the mutants of dmmalloc
  std::vector<std::string> from;  // fuzz --from these traces instead of generating runs
  bool guided = false;            // coverage-guided fuzzing
  std::string traces;  // a folder of .rep traces: does dmmalloc reach each mutant's guard there?
  std::string native;  // a native build of dmmalloc's port: the mutants run as native:NATIVE,variant=NAME
};

// The allocator a mutant's campaign fuzzes: the simulator's mutant:NAME, or the native port's
// build with the mutant chosen at init (native/examples/dmmalloc_port.cpp).
std::string mutant_allocator(const SelftestArgs& args, std::string_view name) {
  if (args.native.empty()) return std::string(kMutantPrefix) + std::string(name);
  return fmt::format("native:{},variant={}", args.native, name);
}

// The fuzzing options of the self-test's campaigns (--from and --guided as given).
FuzzOptions campaign_options(const SelftestArgs& args, std::shared_ptr<const std::vector<SeedTrace>> from) {
  FuzzOptions opt;
  opt.seed = args.seed;
  opt.runs = args.runs;
  opt.from = std::move(from);
  return opt;
}

FuzzSession run_campaign(const SelftestArgs& args, const FuzzOptions& opt) {
  return args.guided ? fuzz_guided(opt, 0) : fuzz(opt);
}

// selftest --alloc A: the property suite on A, with A's own verify() after every call (the
// paranoid level), until a counterexample turns up or --runs pass.
int run_allocator_selftest(const SelftestArgs& args, OutputFile* json_out) {
  if (const std::string error = allocator_name_error(args.alloc); !error.empty()) {
    fmt::print(stderr, "pprsim: --alloc: {}\n", error);
    return 2;
  }
  ::setenv("PPRSIM_PARANOID", "1", 1);
  FuzzOptions opt;
  opt.allocator = args.alloc;
  opt.seed = args.seed;
  opt.runs = args.runs;
  const FuzzSession session = fuzz(opt);
  const bool passed = session.found.empty();
  nlohmann::ordered_json j;
  j["seed"] = args.seed;
  j["allocator"] = args.alloc;
  j["runs"] = session.runs;
  j["paranoid"] = true;
  j["passed"] = passed;
  if (!passed) {
    const Counterexample& c = session.found.front();
    j["events"] = c.shrunk.operations();
    j["violated"] = c.violated;
    j["trace"] = trace_text(c.shrunk);
    j["command"] = replay_command(c.shrunk, args.alloc, "TRACE") + " --paranoid";
  }
  if (args.json != "-") {
    fmt::print("selftest {}: {} runs at the paranoid level, {}, seed {}\n", args.alloc, session.runs,
               passed ? "every property held" : "a property failed", args.seed);
    if (!passed) {
      for (const std::string& v : session.found.front().violated) fmt::print("  {}\n", v);
      fmt::print("  counterexample ({} events):\n{}  reproduce: {}\n", session.found.front().shrunk.operations(),
                 trace_text(session.found.front().shrunk), j["command"].get<std::string>());
    }
  }
  if (json_out != nullptr) {
    json_out->stream() << json_text(j, 2) << '\n';
    if (!json_out->commit()) {
      fmt::print(stderr, "pprsim: --json: {}\n", json_out->error());
      return 2;
    }
  }
  return passed ? 0 : 1;
}

int run_selftest(const SelftestArgs& args) {
  // The output is opened before the fuzzing, so that one that cannot be written costs no time.
  OutputSet outputs({});
  OutputFile* const json_out = outputs.add("--json", args.json);
  if (!outputs.ok()) {
    fmt::print(stderr, "pprsim: {}\n", outputs.error());
    return 2;
  }
  if (!args.alloc.empty()) return run_allocator_selftest(args, json_out);
  if (!args.native.empty()) {
    if (const std::string error = allocator_name_error("native:" + args.native); !error.empty()) {
      fmt::print(stderr, "pprsim: --native: {}\n", error);
      return 2;
    }
  }
  std::shared_ptr<const std::vector<SeedTrace>> from;
  std::optional<TraceCoverage> reach;
  try {
    if (!args.from.empty()) from = std::make_shared<const std::vector<SeedTrace>>(load_seed_traces(args.from));
    // The traces' reach first, so that a bad folder costs no fuzzing.
    if (!args.traces.empty()) reach = trace_coverage(args.traces, ".rep", "dmmalloc", 4, 50);
  } catch (const TraceError& e) {
    fmt::print(stderr, "pprsim: {}\n", e.what());
    return 2;
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "pprsim: {}\n", e.what());
    return 2;
  }
  const auto reached_text = [&](const MutantInfo& m) -> std::string {
    if (!reach) return "-";
    const std::uint32_t n = reach->traces_reaching[probe_id(m.guard)];
    return fmt::format("{}/{}", n, reach->traces.size());
  };
  struct Row {
    const MutantInfo* mutant;
    FuzzSession session;
    double seconds;
  };
  std::vector<Row> rows;
  bool all = true;
  const bool table = args.json != "-";
  if (table) {
    fmt::print("{:<26} {:<7} {:>6} {:>7} {:>8}  {:<18} {:>7}  {}\n", "mutant", "caught", "runs", "events", "seconds",
               "guarding probe", "traces", "seeded bug");
  }
  for (const MutantInfo& m : kMutants) {
    FuzzOptions opt = campaign_options(args, from);
    opt.allocator = mutant_allocator(args, m.name);
    const auto t0 = std::chrono::steady_clock::now();
    FuzzSession session = run_campaign(args, opt);
    Row row{&m, std::move(session), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()};
    const bool caught = !row.session.found.empty();
    all = all && caught;
    if (table) {
      fmt::print("{:<26} {:<7} {:>6} {:>7} {:>8.1f}  {:<18} {:>7}  {}\n", m.name, caught ? "yes" : "NO",
                 row.session.runs, caught ? fmt::format("{}", row.session.found.front().shrunk.operations()) : "-",
                 row.seconds, probe_info(probe_id(m.guard)).name, reached_text(m), m.what);
      std::fflush(stdout);
    }
    rows.push_back(std::move(row));
  }
  if (table) {
    fmt::print("{}: {} mutants, seed {}\n", all ? "every mutant caught" : "SOME MUTANTS SURVIVED", rows.size(), args.seed);
    if (reach) {
      fmt::print("traces: of the {} traces in {} (dmmalloc, group size 4, a PPR every 50 operations), how many reach "
                 "the guarding probe\n",
                 reach->traces.size(), args.traces);
    }
  }
  if (json_out != nullptr) {
    nlohmann::ordered_json j;
    j["seed"] = args.seed;
    if (!args.native.empty()) j["native"] = args.native;
    j["all_caught"] = all;
    auto list = nlohmann::ordered_json::array();
    for (const Row& r : rows) {
      nlohmann::ordered_json e;
      e["mutant"] = r.mutant->name;
      e["caught"] = !r.session.found.empty();
      e["runs"] = r.session.runs;  // runs up to and including the first failing one
      e["guard"] = probe_info(probe_id(r.mutant->guard)).name;
      if (reach) e["traces_reaching_guard"] = reach->traces_reaching[probe_id(r.mutant->guard)];
      e["seconds"] = r.seconds;
      if (!r.session.found.empty()) {
        const Counterexample& c = r.session.found.front();
        e["events_before_minimizing"] = c.events_before_minimizing;
        e["events"] = c.shrunk.operations();
        e["violated"] = c.violated;
        e["trace"] = trace_text(c.shrunk);
        e["command"] = replay_command(c.shrunk, std::string(kMutantPrefix) + std::string(r.mutant->name), "TRACE");
      }
      list.push_back(std::move(e));
    }
    j["mutants"] = std::move(list);
    json_out->stream() << json_text(j, 2) << '\n';
    if (!json_out->commit()) {
      fmt::print(stderr, "pprsim: --json: {}\n", json_out->error());
      return 2;
    }
  }
  return all ? 0 : 1;
}

}  // namespace

Command add_selftest_command(CLI::App& app) {
  auto args = std::make_shared<SelftestArgs>();
  CLI::App* cmd = app.add_subcommand("selftest", "Seed known bugs into dmmalloc and check that fuzzing catches each");
  cmd->add_option("--runs", args->runs, "Most generated runs per mutant")->check(exact_number<int>(1, 10000000))->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed of the fuzzing sessions")->check(non_negative())->capture_default_str();
  cmd->add_option("--json", args->json, "Write the results as JSON to FILE, or to standard output with -")
      ->check(non_empty());
  cmd->add_option("--from", args->from, "Fuzz from these traces (as fuzz --from) instead of generated runs");
  cmd->add_flag("--guided", args->guided, "Coverage-guided fuzzing (as fuzz --guided)");
  cmd->add_option("--traces", args->traces,
                  "A folder of CS:APP .rep traces: report how many of them reach each mutant's guarding probe");
  cmd->add_option("--native", args->native,
                  "Seed the bugs into this native build of dmmalloc instead (native/examples/dmmalloc_port.cpp, or "
                  "the build's pprsim_native_dmmalloc.so): each mutant runs as native:SPEC,variant=NAME")
      ->check(non_empty());
  cmd->add_option("--alloc", args->alloc,
                  "Instead of the mutants: fuzz this allocator with its verify() after every call: " + allocator_help());
  return {cmd, [args] { return run_selftest(*args); }};
}

}  // namespace pprsim
