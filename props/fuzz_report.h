// What a fuzz campaign reports, as `pprsim fuzz --json` writes it and `pprsim report` reads it
// back: one model, one JSON layout, and the merge of a campaign's shards.
//
// A campaign is its allocator, seed, fault plan, requested runs and stop rule (keep going or
// not). `--shard K/N` checks the runs i with i mod N == K - 1 (interleaved, so every shard gets
// small and large cases alike); each shard checks its own runs in order and reports how many it
// checked. Merging the N shards gives exactly the report of one process checking the whole
// campaign: the runs up to the first one some shard did not check (or, when not keeping going,
// up to the first failing run), and the counterexamples among them.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace pprsim {

struct Shard {
  int index = 1;  // K, from 1
  int count = 1;  // N

  // "K/N" with 1 <= K <= N. Throws std::invalid_argument saying what is wrong.
  static Shard parse(const std::string& text);
  std::string to_string() const;
  bool owns(int run) const { return run % count == index - 1; }
  // How many of a campaign's `runs` runs this shard owns.
  int size(int runs) const;
  friend bool operator==(const Shard&, const Shard&) = default;
};

struct FuzzFinding {
  int run = 0;
  std::vector<std::string> violated;
  std::uint64_t events = 0;
  std::string trace;    // the counterexample's native trace file
  std::string command;  // the replay command that reproduces it
};

struct FuzzReport {
  std::string version;  // of the pprsim that ran it ("" when the JSON has none: an older one)
  std::string allocator;
  std::uint64_t seed = 0;
  std::string faults;  // canonical fault spec, empty: each run draws its own
  int requested_runs = 0;
  bool keep_going = false;
  Shard shard;  // 1/1: the whole campaign
  int runs = 0;  // runs checked
  std::vector<FuzzFinding> counterexamples;
  // The allocator paths the checked runs reached (sim/coverage.h's coverage_json); null when
  // the report has none (an older pprsim). Merged shards: the hits summed over every run the
  // shards checked, without pairs (they cannot be summed).
  nlohmann::ordered_json coverage;
  double seconds = 0;
};

// Bad report input: the message is one line naming the file.
struct ReportError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The JSON of `pprsim fuzz --json` (the "shard" key only for a shard of several).
nlohmann::ordered_json fuzz_report_json(const FuzzReport& r);

// Reads such JSON back; `name` names the file in errors. Throws ReportError.
FuzzReport read_fuzz_report(const nlohmann::json& j, const std::string& name);

// Merges the shards of one campaign (every shard exactly once, any order) into the report of
// the whole campaign; seconds is the longest shard's. Throws ReportError when they are not the
// shards of one campaign (shards of two pprsim versions are not: a case generator or check may
// have changed between them), or one is missing or given twice.
FuzzReport merge_fuzz_shards(const std::vector<FuzzReport>& shards, const std::vector<std::string>& names);

}  // namespace pprsim
