// pprsim report: reads the JSON that pprsim commands wrote and reports on it as one.
// - Runs (`pprsim replay --json`): drawn as one HTML page (`-o FILE.html`, tools/html_report.h);
//   several runs, of several traces or allocators, make one comparison page.
// - A fuzz campaign split with `pprsim fuzz --shard K/N`: the shards' JSON merge into the
//   report one process would have written.
// Reading (load_reports), merging and rendering (text, --json, HTML) are separate steps.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "sim/json_text.h"
#include "props/fuzz_report.h"
#include "tools/html_report.h"
#include "tools/commands.h"
#include "traces/output_set.h"

namespace pprsim {

namespace {

struct ReportArgs {
  std::vector<std::string> inputs;
  std::string json;
  std::string html;
};

// Every input parsed as JSON, keys in the order written; a file that cannot be read or parsed
// is a ReportError.
std::vector<nlohmann::ordered_json> load_reports(const std::vector<std::string>& inputs) {
  std::vector<nlohmann::ordered_json> out;
  for (const std::string& path : inputs) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ReportError(fmt::format("{}: cannot open the file", path));
    std::ostringstream text;
    text << in.rdbuf();
    try {
      out.push_back(nlohmann::ordered_json::parse(text.str()));
    } catch (const nlohmann::json::parse_error& e) {
      throw ReportError(fmt::format("{}: not JSON: {}", path, e.what()));
    }
  }
  return out;
}

// Runs from replay --json: one page for all of them (or a line each without -o).
int report_runs(const ReportArgs& args, const std::vector<nlohmann::ordered_json>& docs, OutputFile* html_out) {
  if (!args.json.empty()) {
    fmt::print(stderr, "pprsim: --json merges fuzz reports; runs are drawn with -o FILE.html\n");
    return 2;
  }
  nlohmann::ordered_json runs = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < docs.size(); ++i) {
    if (!is_run_json(docs[i])) {
      fmt::print(stderr, "pprsim: {}: not a run (pprsim replay --json) like {}: report draws runs or merges fuzz "
                         "shards, not both\n",
                 args.inputs[i], args.inputs.front());
      return 2;
    }
    if (docs[i].is_array()) {
      for (const auto& r : docs[i]) runs.push_back(r);
    } else {
      runs.push_back(docs[i]);
    }
  }
  // Everything that reads the runs' fields, where a field of the wrong type throws: before any
  // output, so that such input is one line and exit 2.
  bool all_ok = true;
  std::string page, lines;
  try {
    for (const auto& r : runs) {
      const bool ok = r.value("verified", false);
      all_ok = all_ok && ok;
      lines += fmt::format("{}: {} with {}\n", r.value("trace", std::string()), ok ? "VERIFIED" : "FAILED",
                           r.value("allocator", std::string()));
    }
    page = html_report(runs);
  } catch (const std::exception& e) {
    fmt::print(stderr, "pprsim: {}: cannot draw these runs: {}\n", fmt::join(args.inputs, ", "), e.what());
    return 2;
  }
  if (args.html.empty()) {
    fmt::print("{}(-o FILE.html draws them as one page)\n", lines);
  } else {
    html_out->stream() << page;
    if (!html_out->commit()) {
      fmt::print(stderr, "pprsim: -o: {}\n", html_out->error());
      return 2;
    }
  }
  return all_ok ? 0 : 1;
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
  // The outputs are opened before anything is read: one that is an input, names the other, or
  // cannot be written, is refused at once.
  OutputSet outputs(args.inputs);
  OutputFile* const html_out = outputs.add("-o", args.html);
  OutputFile* const json_out = outputs.add("--json", args.json);
  if (!outputs.ok()) {
    fmt::print(stderr, "pprsim: {}\n", outputs.error());
    return 2;
  }
  FuzzReport merged;
  try {
    const std::vector<nlohmann::ordered_json> docs = load_reports(args.inputs);
    if (is_run_json(docs.front())) return report_runs(args, docs, html_out);
    if (!args.html.empty()) {
      fmt::print(stderr, "pprsim: {}: -o draws runs (pprsim replay --json); a fuzz report is merged with --json\n",
                 args.inputs.front());
      return 2;
    }
    std::vector<FuzzReport> shards;
    for (std::size_t i = 0; i < docs.size(); ++i) {
      shards.push_back(read_fuzz_report(nlohmann::json::parse(json_text(docs[i])), args.inputs[i]));
    }
    merged = merge_fuzz_shards(shards, args.inputs);
  } catch (const ReportError& e) {
    fmt::print(stderr, "pprsim: {}\n", e.what());
    return 2;
  }
  if (args.json != "-") print_text(merged, args.inputs.size());
  if (!args.json.empty()) {
    json_out->stream() << json_text(fuzz_report_json(merged), 2) << '\n';
    if (!json_out->commit()) {
      fmt::print(stderr, "pprsim: --json: {}\n", json_out->error());
      return 2;
    }
  }
  return merged.counterexamples.empty() ? 0 : 1;
}

}  // namespace

Command add_report_command(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "report", "Draw runs as one HTML page, or merge the JSON of a fuzz campaign's shards into one report");
  cmd->add_option("reports", args->inputs,
                  "JSON written by pprsim replay --json (runs), or by pprsim fuzz --json (every shard of one campaign)")
      ->required()
      ->check(non_empty());
  cmd->add_option("-o,--output", args->html, "Runs: write them as one self-contained HTML page to FILE (- for "
                                              "standard output)")
      ->check(non_empty());
  cmd->add_option("--json", args->json, "Write the merged report as JSON to FILE, or to standard output with -")
      ->check(non_empty());
  return {cmd, [args] { return run_report(*args); }};
}

}  // namespace pprsim
