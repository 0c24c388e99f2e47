// pprsim report: reads the JSON that pprsim commands wrote and reports on it as one. Its first
// job is a fuzz campaign split with `pprsim fuzz --shard K/N`: the shards' JSON merge into the
// report one process would have written. Reading (load_reports), merging and rendering (text,
// --json) are separate steps, so that further inputs and output formats slot in beside them.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "props/fuzz_report.h"
#include "tools/commands.h"
#include "traces/output_file.h"

namespace pprsim {

namespace {

struct ReportArgs {
  std::vector<std::string> inputs;
  std::string json;
};

// Every input parsed as JSON; a file that cannot be read or parsed is a ReportError.
std::vector<nlohmann::json> load_reports(const std::vector<std::string>& inputs) {
  std::vector<nlohmann::json> out;
  for (const std::string& path : inputs) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ReportError(fmt::format("{}: cannot open the file", path));
    std::ostringstream text;
    text << in.rdbuf();
    try {
      out.push_back(nlohmann::json::parse(text.str()));
    } catch (const nlohmann::json::parse_error& e) {
      throw ReportError(fmt::format("{}: not JSON: {}", path, e.what()));
    }
  }
  return out;
}

void print_text(const FuzzReport& r, std::size_t shards) {
  for (const FuzzFinding& f : r.counterexamples) {
    fmt::print("run {}: {}\n  counterexample ({} events): {}\n  reproduce: {}\n", f.run, fmt::join(f.violated, "; "),
               f.events, f.trace, f.command);
  }
  fmt::print("fuzz {}: {} runs, {} failing, seed {}{} ({} of {}; longest {:.1f} s)\n", r.allocator, r.runs,
             r.counterexamples.size(), r.seed, r.faults.empty() ? "" : ", faults " + r.faults,
             shards == 1 ? "1 report" : fmt::format("{} shards", shards), r.requested_runs, r.seconds);
}

int run_report(const ReportArgs& args) {
  FuzzReport merged;
  try {
    const std::vector<nlohmann::json> docs = load_reports(args.inputs);
    std::vector<FuzzReport> shards;
    for (std::size_t i = 0; i < docs.size(); ++i) shards.push_back(read_fuzz_report(docs[i], args.inputs[i]));
    merged = merge_fuzz_shards(shards, args.inputs);
  } catch (const ReportError& e) {
    fmt::print(stderr, "pprsim: {}\n", e.what());
    return 2;
  }
  if (args.json != "-") print_text(merged, args.inputs.size());
  if (!args.json.empty()) {
    const std::string text = fuzz_report_json(merged).dump(2) + "\n";
    if (const std::string error = write_output(args.json, text, args.inputs); !error.empty()) {
      fmt::print(stderr, "pprsim: --json: {}\n", error);
      return 2;
    }
  }
  return merged.counterexamples.empty() ? 0 : 1;
}

}  // namespace

Command add_report_command(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand("report", "Merge the JSON of a fuzz campaign's shards into one report");
  cmd->add_option("reports", args->inputs, "JSON written by pprsim fuzz --json (every shard of one campaign)")
      ->required()
      ->check(non_empty());
  cmd->add_option("--json", args->json, "Write the merged report as JSON to FILE, or to standard output with -")
      ->check(non_empty());
  return {cmd, [args] { return run_report(*args); }};
}

}  // namespace pprsim
