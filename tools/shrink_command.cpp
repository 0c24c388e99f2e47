// pprsim shrink: reduces any failing trace (native, CS:APP or mtrace) to a 1-minimal native
// trace that fails the same way under the same replay options (props/minimize.h).
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

#include "props/minimize.h"
#include "sim/coverage_report.h"
#include "sim/plugin_allocator.h"
#include "sim/faults.h"
#include "sim/sim_allocator.h"
#include "tools/commands.h"
#include "tools/progress_line.h"
#include "traces/output_set.h"
#include "traces/trace_reader.h"
#include "traces/trace_source.h"
#include "traces/trace_writer.h"

namespace pprsim {

namespace {

struct ShrinkArgs {
  std::string trace;
  std::string alloc = "dmmalloc";
  int group_size = 1;
  std::uint64_t ppr_every = 0;
  std::uint64_t seed = 1;
  std::string understudy = "auto";
  std::string faults;
  std::string out;
  std::uint64_t check_every = ReplayConfig{}.check_every;
  std::uint64_t max_replays = 0;
  double call_timeout = ReplayConfig{}.call_time_limit;
  bool quiet = false;
};

// The native text of `events` under a two-line comment. The comment's line count is fixed, so
// every event has the same line (and so the same written bytes) in each candidate and in the
// file written at the end.
std::string render(const std::vector<Event>& events, const std::string& first, const std::string& second) {
  std::ostringstream os;
  TraceWriter w(os, first + "\n" + second);
  for (const Event& e : events) w.write(e);
  return os.str();
}

std::string replay_args(const ReplayConfig& cfg) {
  std::string s = fmt::format("--alloc {} --group-size {} --seed {} --understudy {}", cfg.allocator, cfg.group_size,
                              cfg.seed, understudy_name(cfg.understudy));
  if (cfg.faults.any()) s += " --faults " + cfg.faults.to_string();
  if (cfg.check_every != ReplayConfig{}.check_every) s += fmt::format(" --check-every {}", cfg.check_every);
  if (cfg.call_time_limit != ReplayConfig{}.call_time_limit) s += fmt::format(" --call-timeout {:g}", cfg.call_time_limit);
  return s;
}

int run_shrink(const ShrinkArgs& args) {
  if (!is_allocator_name(args.alloc)) {
    fmt::print(stderr, "pprsim: --alloc: unknown allocator '{}' (known: {})\n", args.alloc,
               fmt::join(allocator_names(), ", "));
    return 2;
  }
  ReplayConfig cfg;
  cfg.allocator = args.alloc;
  cfg.group_size = args.group_size;
  cfg.ppr_every = args.ppr_every;
  cfg.seed = args.seed;
  cfg.check_every = args.check_every;
  cfg.call_time_limit = args.call_timeout;
  cfg.understudy = args.understudy == "never" ? UnderstudyMode::Never
                   : args.understudy == "always" ? UnderstudyMode::Always
                                                 : UnderstudyMode::Auto;
  try {
    cfg.faults = FaultPlan::parse(args.faults);
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "pprsim: --faults: {}\n", e.what());
    return 2;
  }

  // The output is opened before any work: one that cannot be written, or is the trace itself,
  // is refused at once, not after the shrinking.
  OutputSet outputs({args.trace});
  OutputFile* const out = outputs.add("-o", args.out);
  if (!outputs.ok()) {
    fmt::print(stderr, "pprsim: {}\n", outputs.error());
    return 2;
  }

  // The original run decides which failure to keep.
  std::vector<Event> events;
  RunStats original;
  try {
    const TraceSource source(args.trace);  // a pipe is read once, then reread from a copy
    auto reader = source.open();
    Event e;
    while (reader->next(e)) events.push_back(e);
    auto again = source.open();
    original = replay(*again, cfg);
  } catch (const TraceError& e) {
    fmt::print(stderr, "pprsim: {}\n", e.what());
    return 2;
  } catch (const PluginError& e) {
    fmt::print(stderr, "pprsim: --alloc {}\n", e.what());
    return 2;
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "pprsim: {}\n", e.what());
    return 2;
  }
  const std::vector<FindingKind> kinds = failure_kinds(original);
  auto operations = [](const std::vector<Event>& t) {
    return static_cast<std::size_t>(std::count_if(t.begin(), t.end(), [](const Event& e) { return is_operation(e.op); }));
  };
  const std::size_t before = operations(events);
  if (kinds.empty()) {
    fmt::print("{}: VERIFIED with {}: nothing to shrink\n", args.trace, args.alloc);
    return 0;
  }
  const FindingKind keep = kinds.front();

  // Under --ppr-every the instances become explicit markers, so that removing an event does
  // not move every later cut.
  if (cfg.ppr_every > 0) {
    if (cfg.group_size > 1) events = with_ppr_markers(events, cfg.ppr_every);
    cfg.ppr_every = 0;
  }
  const std::string command = fmt::format("reproduce: pprsim replay {} {}", args.out, replay_args(cfg));
  auto still_fails = [&](const std::vector<Event>& t) {
    std::istringstream in(render(t, "pprsim shrink", command));
    try {
      auto reader = read_native(in, args.out);
      const std::vector<FindingKind> k = failure_kinds(replay(*reader, cfg));
      return std::find(k.begin(), k.end(), keep) != k.end();
    } catch (const TraceError&) {
      return false;
    }
  };
  ProgressLine line(args.quiet);
  MinimizeOptions opt;
  opt.group_size = cfg.group_size;
  opt.max_tests = args.max_replays;
  if (line.enabled()) {
    opt.progress = [&line](const MinimizeProgress& p) {
      line.show(fmt::format("shrink: {} pass, {} operations, {} replays", p.pass, p.operations, p.tests));
    };
  }
  const MinimizeResult r = minimize_trace(std::move(events), still_fails, opt);
  line.clear();
  if (!r.reproduced) {
    fmt::print(stderr, "pprsim: {}: the {} does not survive rewriting the trace as native text; nothing written\n",
               args.trace, finding_info(keep).name);
    return 2;
  }
  const std::size_t after = operations(r.trace);
  const std::string first = fmt::format("pprsim shrink of {}: {} ({} -> {} operations)", args.trace,
                                        finding_info(keep).name, before, after);
  out->stream() << render(r.trace, first, command);
  if (!out->commit()) {
    fmt::print(stderr, "pprsim: -o: {}\n", out->error());
    return 2;
  }
  fmt::print("{}: {} with {}: {} -> {} operations in {} replays{}\n  written: {}\n  {}\n", args.trace,
             finding_info(keep).name, args.alloc, before, after, r.tests,
             r.minimal ? "" : " (stopped by --max-replays: not minimal)", args.out, command);
  // The allocator paths the counterexample takes (one more replay, of the shrunk trace).
  try {
    std::istringstream in(render(r.trace, first, command));
    auto reader = read_native(in, args.out);
    std::cout.flush();
    print_coverage(std::cout, replay(*reader, cfg).coverage, args.alloc);
    std::cout.flush();
  } catch (const std::exception&) {
    // It replayed as a candidate already; nothing to add if it cannot be read again.
  }
  return 1;
}

}  // namespace

Command add_shrink_command(CLI::App& app) {
  auto args = std::make_shared<ShrinkArgs>();
  CLI::App* cmd = app.add_subcommand(
      "shrink", "Reduce a failing trace to a 1-minimal native trace that fails the same way");
  cmd->add_option("trace", args->trace, "Failing trace (native, CS:APP .rep or glibc mtrace)")->required();
  cmd->add_option("-o,--out", args->out, "Where to write the shrunk native trace")->required();
  cmd->add_option("--alloc", args->alloc, "Allocator: " + allocator_help())
      ->capture_default_str();
  cmd->add_option("--group-size", args->group_size, "PPR instances per group")->check(exact_number<int>(1, 64))->capture_default_str();
  cmd->add_option("--ppr-every", args->ppr_every, "Cut the trace into PPR instances of N allocator events")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Scheduler seed")->check(non_negative())->capture_default_str();
  cmd->add_option("--understudy", args->understudy, "Understudy: auto (the seed decides the race), never, always")
      ->check(CLI::IsMember({"auto", "never", "always"}))
      ->capture_default_str();
  cmd->add_option("--faults", args->faults, std::string("Inject faults, as for replay: ") + kFaultsHelp);
  cmd->add_option("--check-every", args->check_every, "Check the whole heap every N sequential events, as for replay")
      ->check(exact_number<std::uint64_t>(1, std::uint64_t{1} << 40))
      ->capture_default_str();
  cmd->add_option("--max-replays", args->max_replays, "Stop after this many replays (0: until 1-minimal)")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("--call-timeout", args->call_timeout,
                  "Seconds one call into a plugin allocator may take before the run counts as hung, as for replay")
      ->check(exact_number<double>(0, 1e6))
      ->capture_default_str();
  cmd->add_flag("--quiet", args->quiet, "No progress line");
  return {cmd, [args] { return run_shrink(*args); }};
}

}  // namespace pprsim
