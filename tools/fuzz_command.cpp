// pprsim fuzz: the property suite on generated runs. Each failure is shrunk by RapidCheck,
// written as a native trace, and printed as the replay command that reproduces it.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>

#include "props/fuzz_guided.h"
#include "props/fuzz_report.h"
#include "props/fuzz_workers.h"
#include "props/fuzzing.h"
#include "sim/json_text.h"
#include "sim/coverage_report.h"
#include "sim/faults.h"
#include "sim/sim_allocator.h"
#include "tools/commands.h"
#include "tools/progress_line.h"
#include "traces/output_file.h"
#include "traces/trace_reader.h"

namespace pprsim {

namespace {

struct FuzzArgs {
  std::string alloc = "dmmalloc";
  int runs = 100;
  std::uint64_t seed = 1;
  std::string out = "counterexamples";
  std::string json;
  std::string faults;
  double max_seconds = 0;
  double case_seconds = 10;
  bool keep_going = false;
  int jobs = 0;  // 0: every core
  std::string shard = "1/1";
  bool quiet = false;
  std::vector<std::string> from;  // traces the runs are cut from and mutated (empty: generated)
  bool guided = false;
};

std::string file_safe(std::string name) {
  for (char& ch : name) {
    if (ch == ':' || ch == '/') ch = '-';
  }
  return name;
}

// Why counterexamples cannot be written into the folder `dir` ("" when they can): it must be a
// folder, or be creatable (its nearest existing ancestor a folder this process may write).
// Checked before the first run, so that no campaign is thrown away at its first counterexample.
std::string out_folder_error(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p = fs::absolute(dir, ec);
  if (ec) return fmt::format("cannot write counterexamples into {}: {}", dir, ec.message());
  for (fs::path at = p;; at = at.parent_path()) {
    const fs::file_status st = fs::status(at, ec);
    // Not there, or under a file (not a directory): the ancestors say which.
    if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory) {
      return fmt::format("cannot write counterexamples into {}: {}: {}", dir, at.string(), ec.message());
    }
    if (fs::exists(st)) {
      if (!fs::is_directory(st)) {
        return at == p ? fmt::format("cannot write counterexamples into {}: it is not a directory", dir)
                       : fmt::format("cannot create the folder {}: {} is not a directory", dir, at.string());
      }
      if (::access(at.c_str(), W_OK | X_OK) != 0) {
        return fmt::format("cannot {} {}: {}: {}", at == p ? "write counterexamples into" : "create the folder", dir,
                           at.string(), std::strerror(errno));
      }
      return "";
    }
    if (at == at.parent_path()) return fmt::format("cannot create the folder {}", dir);
  }
}

int run_fuzz(const FuzzArgs& args) {
  if (const std::string error = allocator_name_error(args.alloc); !error.empty()) {
    fmt::print(stderr, "pprsim: --alloc: {}\n", error);
    return 2;
  }
  FuzzOptions opt;
  try {
    opt.faults = FaultPlan::parse(args.faults);
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "pprsim: --faults: {}\n", e.what());
    return 2;
  }
  opt.allocator = args.alloc;
  opt.seed = args.seed;
  opt.runs = args.runs;
  opt.keep_going = args.keep_going;
  opt.max_seconds = args.max_seconds;
  opt.case_seconds = args.case_seconds;
  const Shard shard = Shard::parse(args.shard);  // checked when the options were read
  opt.first = shard.index - 1;
  opt.stride = shard.count;
  // Every output is checked before the first run: the JSON file is opened now (as replay does),
  // the counterexample folder must be one or be creatable.
  if (const std::string error = out_folder_error(args.out); !error.empty()) {
    fmt::print(stderr, "pprsim: --out: {}\n", error);
    return 2;
  }
  std::unique_ptr<OutputFile> json_out;
  if (!args.json.empty()) {
    json_out = std::make_unique<OutputFile>(args.json);
    if (!json_out->ok()) {
      fmt::print(stderr, "pprsim: --json: {}\n", json_out->error());
      return 2;
    }
  }
  if (!args.from.empty()) {
    try {
      opt.from = std::make_shared<const std::vector<SeedTrace>>(load_seed_traces(args.from));
    } catch (const TraceError& e) {
      fmt::print(stderr, "pprsim: {}\n", e.what());
      return 2;
    } catch (const std::invalid_argument& e) {
      fmt::print(stderr, "pprsim: --from: {}\n", e.what());
      return 2;
    }
  }
  const int jobs = args.jobs > 0 ? args.jobs : available_cores();
  ProgressLine line(args.quiet);
  auto elapsed = [&] { return line.elapsed(); };
  std::vector<std::string> paths, commands;
  const std::string label = shard.count > 1 ? " shard " + shard.to_string() : "";
  bool write_failed = false;
  opt.progress = [&](const FuzzSession& s) {
    if (s.found.size() > paths.size()) {
      const Counterexample& c = s.found.back();
      std::error_code ec;
      std::filesystem::create_directories(args.out, ec);
      const std::string path =
          (std::filesystem::path(args.out) / fmt::format("{}-seed{}-run{}.trace", file_safe(args.alloc), args.seed, c.run)).string();
      if (const std::string error = write_output(path, trace_text(c.shrunk)); !error.empty()) {
        write_failed = true;
        fmt::print(stderr, "pprsim: {}\n", error);
        return false;
      }
      paths.push_back(path);
      commands.push_back(replay_command(c.shrunk, args.alloc, path));
      line.clear();
      if (args.json != "-") {
        fmt::print("run {}: {}\n  counterexample ({} events): {}\n  reproduce: {}\n", c.run, fmt::join(c.violated, "; "),
                   c.shrunk.operations(), path, commands.back());
        std::fflush(stdout);
      }
    }
    if (line.enabled()) {
      const double t = elapsed();
      const std::string left = time_left(static_cast<double>(s.runs), static_cast<double>(shard.size(args.runs)), t);
      line.show(fmt::format("fuzz {}{}: run {}/{}, {} failing, {} runs/s{}{}", args.alloc, label, s.runs,
                            shard.size(args.runs), s.found.size(), rate_text(static_cast<double>(s.runs), t),
                            left.empty() ? "" : ", ", left));
    }
    return true;
  };
  FuzzSession s;
  try {
    s = args.guided ? fuzz_guided(opt, jobs) : fuzz_in_workers(opt, jobs);
  } catch (const std::runtime_error& e) {
    line.clear();
    fmt::print(stderr, "pprsim: {}\n", e.what());
    return 2;
  }
  line.clear();
  if (write_failed) return 2;
  if (args.json != "-") {
    fmt::print("fuzz {}{}: {} runs, {} failing, seed {}{}{} ({:.1f} s)\n", args.alloc, label, s.runs, s.found.size(),
               args.seed, opt.faults.any() ? ", faults " + opt.faults.to_string() : "",
               s.time_limited ? fmt::format(", {} cut at the time limit", s.cut) : "", elapsed());
    print_coverage(std::cout, s.coverage, args.alloc);
    std::cout.flush();
  }
  if (!args.json.empty()) {
    FuzzReport r;
    r.version = PPRSIM_VERSION;
    r.allocator = args.alloc;
    r.seed = args.seed;
    r.faults = opt.faults.to_string();
    r.requested_runs = args.runs;
    r.keep_going = args.keep_going;
    r.shard = shard;
    r.runs = s.runs;
    for (std::size_t i = 0; i < s.found.size(); ++i) {
      r.counterexamples.push_back(
          {s.found[i].run, s.found[i].violated, s.found[i].shrunk.operations(), paths[i], commands[i]});
    }
    r.coverage = coverage_json(s.coverage, args.alloc);
    r.seconds = elapsed();
    json_out->stream() << json_text(fuzz_report_json(r), 2) << "\n";
    if (!json_out->commit()) {
      fmt::print(stderr, "pprsim: --json: {}\n", json_out->error());
      return 2;
    }
  }
  return s.found.empty() ? 0 : 1;
}

}  // namespace

Command add_fuzz_command(CLI::App& app) {
  auto args = std::make_shared<FuzzArgs>();
  CLI::App* cmd = app.add_subcommand("fuzz", "Check the allocator properties on generated runs; shrink and save failures");
  cmd->add_option("--alloc", args->alloc, "Allocator to check: " + allocator_help())->capture_default_str();
  cmd->add_option("--runs", args->runs, "Generated runs")->check(exact_number<int>(1, 100000000))->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed: one seed reproduces the whole session")->check(non_negative())->capture_default_str();
  cmd->add_option("--out", args->out, "Folder for shrunk counterexamples (native traces)")->check(non_empty())->capture_default_str();
  cmd->add_option("--json", args->json, "Write the session as JSON to FILE, or to standard output with -")
      ->check(non_empty());
  cmd->add_option("--faults", args->faults, std::string("Inject these faults in every run (default: each run draws its own): ") + kFaultsHelp);
  cmd->add_option("--max-seconds", args->max_seconds,
                  "Start no new run after this long, and stop the runs still going then (0 = no limit)")
      ->check(exact_number<double>(0, 1e9));
  cmd->add_option("--case-seconds", args->case_seconds,
                  "A run with no replay returning for this long hung: it is stopped and is a counterexample "
                  "(with --max-seconds T, at most the larger of T/2 and 1 s)")
      ->check(exact_number<double>(0.001, 1e6))
      ->capture_default_str();
  cmd->add_flag("--keep-going", args->keep_going, "Go on after the first counterexample");
  cmd->add_option("--from", args->from,
                  "Cut each run from one of these traces (a window, made PPR groups) and mutate it, keeping its shape")
;
  cmd->add_flag("--guided", args->guided,
                "Coverage-guided: keep the runs that reach new allocator paths or pairs of paths, and mutate them");
  cmd->add_flag("--quiet", args->quiet, "No progress line (it is shown only when standard error is a terminal)");
  cmd->add_option("--jobs", args->jobs, "Worker processes (default: every core); the results do not depend on it")
      ->check(exact_number<int>(1, 4096));
  cmd->add_option("--shard", args->shard, "Check only shard K of N of the campaign: the runs i with i mod N = K-1")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            try {
              Shard::parse(v);
              return {};
            } catch (const std::invalid_argument& e) {
              return e.what();
            }
          },
          "K/N"))
      ->capture_default_str();
  return {cmd, [args] { return run_fuzz(*args); }};
}

}  // namespace pprsim
