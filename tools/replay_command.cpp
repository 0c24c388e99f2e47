#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "sim/json_text.h"
#include "sim/plugin_allocator.h"
#include "sim/resident.h"
#include "sim/faults.h"
#include "sim/sim_allocator.h"
#include "tools/commands.h"
#include "sim/run_json.h"
#include "tools/html_report.h"
#include "tools/progress_line.h"
#include "tools/provenance.h"
#include "sim/native_engine.h"
#include "traces/output_set.h"
#include "traces/trace_source.h"

namespace pprsim {

namespace {

// A native spec has commas of its own (native:dm.c,util.c,port=port.c): a piece of the list that
// names a source, an object, an archive or the port goes on the native spec before it.
bool continues_native_spec(const std::string& piece) {
  for (const char* end : {".c", ".cc", ".cpp", ".o", ".a"}) {
    if (piece.ends_with(end)) return true;
  }
  return piece.starts_with("port=") || piece.starts_with("variant=");
}

std::vector<std::string> split_allocators(const std::string& list) {
  if (list == "all") return allocator_names();
  std::vector<std::string> out;
  std::stringstream ss(list);
  std::string name;
  while (std::getline(ss, name, ',')) {
    if (!out.empty() && out.back().starts_with(kNativePrefix) && continues_native_spec(name)) {
      out.back() += "," + name;
    } else {
      out.push_back(name);
    }
  }
  for (const std::string& a : out) {
    if (const std::string error = allocator_name_error(a); !error.empty()) throw CLI::ValidationError("--alloc", error);
  }
  if (out.empty()) throw CLI::ValidationError("--alloc", "no allocator named");
  return out;
}

UnderstudyMode parse_understudy(const std::string& s) {
  if (s == "never") return UnderstudyMode::Never;
  if (s == "always") return UnderstudyMode::Always;
  return UnderstudyMode::Auto;
}

struct ReplayOptions {
  std::vector<std::string> traces;
  std::string alloc = "dmmalloc";
  int group_size = 1;
  std::uint64_t ppr_every = 0;
  std::uint64_t seed = 1;
  std::string json;
  std::string understudy = "auto";
  bool paranoid = false;
  std::string faults;
  std::uint64_t full_check_every = ReplayConfig{}.full_check_every;
  std::string max_resident;
  std::string task_slice;
  std::uint64_t check_every = ReplayConfig{}.check_every;
  double call_timeout = ReplayConfig{}.call_time_limit;
  bool quiet = false;
  std::string html;
};

// SIZE: bytes, or a number with K, M, G or T (powers of 1024). 0 when malformed or zero.
std::uint64_t parse_size(const std::string& s) {
  std::size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  if (digits == 0 || digits > 19) return 0;
  const std::string suffix = s.substr(digits);
  unsigned shift = 0;
  if (suffix == "K" || suffix == "KiB") shift = 10;
  else if (suffix == "M" || suffix == "MiB") shift = 20;
  else if (suffix == "G" || suffix == "GiB") shift = 30;
  else if (suffix == "T" || suffix == "TiB") shift = 40;
  else if (!suffix.empty()) return 0;
  const std::uint64_t n = std::stoull(s.substr(0, digits));
  if (n > (~std::uint64_t{0} >> shift)) return 0;
  return n << shift;
}

int run_replay(const ReplayOptions& opt) {
  std::vector<std::string> allocs;
  try {
    allocs = split_allocators(opt.alloc);
  } catch (const CLI::ValidationError& e) {
    fmt::print(stderr, "pprsim: {}\n", e.what());
    return 2;
  }
  FaultPlan faults;
  try {
    faults = FaultPlan::parse(opt.faults);
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "pprsim: --faults: {}\n", e.what());
    return 2;
  }
  std::uint64_t max_resident = 0;
  if (!opt.max_resident.empty()) {
    max_resident = parse_size(opt.max_resident);
    if (max_resident == 0) {
      fmt::print(stderr, "pprsim: --max-resident: expected a positive size in bytes or with K, M, G, T, got '{}'\n",
                 opt.max_resident);
      return 2;
    }
  }
  std::uint64_t task_slice = 0;
  if (!opt.task_slice.empty()) {
    task_slice = parse_size(opt.task_slice);
    if (task_slice == 0 || task_slice % kPageSize != 0) {
      fmt::print(stderr, "pprsim: --task-slice: expected a positive multiple of 4096 bytes (or with K, M, G, T), got '{}'\n",
                 opt.task_slice);
      return 2;
    }
  }
  // The outputs are opened first: one that names a trace, names the other, or cannot be
  // written, is refused before the run.
  OutputSet outputs(opt.traces);
  OutputFile* const json_out = outputs.add("--json", opt.json);
  OutputFile* const html_out = outputs.add("--html", opt.html);
  if (!outputs.ok()) {
    fmt::print(stderr, "pprsim: {}\n", outputs.error());
    return 2;
  }
  std::vector<RunStats> runs;
  ProgressLine line(opt.quiet);
  try {
    for (const std::string& path : opt.traces) {
      const TraceSource source(path);  // a pipe is read once, then reread from a copy
      for (const std::string& a : allocs) {
        ReplayConfig cfg;
        cfg.allocator = a;
        cfg.group_size = opt.group_size;
        cfg.ppr_every = opt.ppr_every;
        cfg.seed = opt.seed;
        cfg.understudy = parse_understudy(opt.understudy);
        cfg.paranoid = opt.paranoid;
        cfg.faults = faults;
        cfg.full_check_every = opt.full_check_every;
        cfg.max_resident = max_resident;
        cfg.task_slice = task_slice;
        cfg.check_every = opt.check_every;
        cfg.call_time_limit = opt.call_timeout;
        cfg.record_report = true;  // the JSON carries what the HTML report draws
        if (line.enabled()) {
          const double t0 = line.elapsed();
          cfg.progress = [&line, &path, &a, t0](const ReplayProgress& p) {
            if (!line.due()) return;
            const double s = line.elapsed() - t0;
            std::string left;
            if (p.announced_events > 0) {
              left = time_left(static_cast<double>(p.events), static_cast<double>(p.announced_events), s);
            } else if (p.total_bytes > 0) {
              left = time_left(static_cast<double>(p.bytes_read), static_cast<double>(p.total_bytes), s);
            }
            // The figures first: on a narrow terminal the line is cut from the end, the path.
            line.show(fmt::format("replay {} events, {} groups, {} events/s{}{}: {} ({})", p.events, p.groups,
                                  rate_text(static_cast<double>(p.events), s), left.empty() ? "" : ", ", left,
                                  path, a));
          };
        }
        cfg.reopen = [&source] { return source.open(); };
        auto reader = source.open();
        // replay() reads the trace to its end even when the run stopped early, so bad input
        // anywhere is exit 2 and never a result.
        runs.push_back(replay(*reader, cfg));
        line.clear();
        if (reader->warnings() > 0) {
          fmt::print(stderr, "pprsim: {}: {} warnings while importing", path, reader->warnings());
          for (const std::string& w : reader->warning_samples()) fmt::print(stderr, "\n  {}", w);
          fmt::print(stderr, "\n");
        }
      }
    }
  } catch (const TraceError& e) {
    fmt::print(stderr, "pprsim: {}\n", e.what());
    return 2;
  } catch (const ResidentLimitExceeded& e) {
    fmt::print(stderr, "pprsim: {}\n", e.what());
    return 2;
  } catch (const PluginError& e) {
    fmt::print(stderr, "pprsim: --alloc {}\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "pprsim: out of real memory (lower --max-resident to stop earlier)\n");
    return 2;
  }
  bool all_ok = true;
  for (const RunStats& r : runs) all_ok = all_ok && r.verified;

  const bool json_to_stdout = opt.json == "-" || opt.html == "-";
  if (!json_to_stdout) {
    if (runs.size() == 1) {
      print_summary(std::cout, runs.front());
    } else {
      print_comparison(std::cout, runs);
      for (const RunStats& r : runs) {
        if (!r.verified) print_summary(std::cout, r);
      }
    }
  }
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  if (!opt.json.empty() || !opt.html.empty()) {
    const nlohmann::ordered_json made = provenance_json();
    for (const RunStats& r : runs) {
      all.push_back(run_to_json(r));
      all.back()["provenance"] = made;
    }
  }
  if (!opt.json.empty()) {
    json_out->stream() << json_text(runs.size() == 1 ? all.front() : all, 2) << '\n';
    if (!json_out->commit()) {
      fmt::print(stderr, "pprsim: --json: {}\n", json_out->error());
      return 2;
    }
  }
  if (!opt.html.empty()) {
    html_out->stream() << html_report(all);
    if (!html_out->commit()) {
      fmt::print(stderr, "pprsim: --html: {}\n", html_out->error());
      return 2;
    }
  }
  // Where each file output went, after the text (on standard error when standard output
  // carries an output itself).
  for (const std::string* file : {&opt.json, &opt.html}) {
    if (file->empty() || *file == "-") continue;
    fmt::print(json_to_stdout ? stderr : stdout, "written: {}\n", *file);
  }
  return all_ok ? 0 : 1;
}

}  // namespace

Command add_replay_command(CLI::App& app) {
  auto opt = std::make_shared<ReplayOptions>();
  CLI::App* cmd = app.add_subcommand("replay", "Replay traces on an allocator and verify the heap");
  cmd->add_option("traces", opt->traces, "Trace files (native, CS:APP .rep, glibc mtrace)")
      ->required()
      ->check(non_empty());
  cmd->add_option("--alloc", opt->alloc, "Allocator, a comma list of them, or all (" + fmt::format("{}", fmt::join(allocator_names(), ", ")) +
                      "); one of " + allocator_help())->capture_default_str();
  cmd->add_option("--group-size", opt->group_size, "PPR instances per group (1 = sequential)")
      ->check(exact_number<int>(1, 64))
      ->capture_default_str();
  cmd->add_option("--ppr-every", opt->ppr_every,
                  "Cut the trace into PPR instances of N allocator events (0 = use ppr/end markers)")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("--seed", opt->seed, "Seed of the scheduler: one seed reproduces a run")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("--json", opt->json, "Write the run as JSON to FILE, or to standard output with -")
      ->check(non_empty());
  cmd->add_option("--html", opt->html,
                  "Write the runs as one self-contained HTML page (timeline, heap maps, conflicts) to FILE, or - for "
                  "standard output")
      ->check(non_empty());
  cmd->add_flag("--quiet", opt->quiet, "No progress line (it is shown only when standard error is a terminal)");
  cmd->add_flag("--paranoid", opt->paranoid,
               "Check the allocator's own invariants after every call (also PPRSIM_PARANOID=1)");
  cmd->add_option("--understudy", opt->understudy, "Understudy: auto (the seed decides the race), never, always")
      ->check(CLI::IsMember({"auto", "never", "always"}))
      ->capture_default_str();
  cmd->add_option("--full-check-every", opt->full_check_every,
                  "Every N-th heap check is a full census, once enough events ran to pay for reading the whole "
                  "heap (the others check what changed); 1 = all full")
      ->check(exact_number<std::uint64_t>(1, std::uint64_t{1} << 32))
      ->capture_default_str();
  cmd->add_option("--max-resident", opt->max_resident,
                  "Real memory the simulation may hold, e.g. 8G (default: 3/4 of physical memory)");
  cmd->add_option("--task-slice", opt->task_slice,
                  "Address space each speculative task may grow into, e.g. 64M (default and most: the memory limit)");
  cmd->add_option("--faults", opt->faults,
                  kFaultsHelp);
  cmd->add_option("--check-every", opt->check_every, "Check the whole heap every N sequential events")
      ->check(exact_number<std::uint64_t>(1, std::uint64_t{1} << 40))
      ->capture_default_str();
  cmd->add_option("--call-timeout", opt->call_timeout,
                  "Seconds one call into a plugin allocator may take before the run stops as hung (0 = no limit)")
      ->check(exact_number<double>(0, 1e6))
      ->capture_default_str();
  return {cmd, [opt] { return run_replay(*opt); }};
}

}  // namespace pprsim
