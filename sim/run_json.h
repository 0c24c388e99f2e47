// The JSON form of a run (docs/DESIGN.md section 5) and the human summary of the same.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <vector>

#include "sim/replay.h"

namespace pprsim {

nlohmann::ordered_json run_to_json(const RunStats& s);

// `findings`: the count of each kind found (kinds not found left out) and the first findings
// with where they were made.
nlohmann::ordered_json findings_json(const Findings& f);

// A short human summary: verdict, counts, the conflict report and the oracle's findings.
void print_summary(std::ostream& out, const RunStats& s);

// One table row per run: trace, allocator, verdict and the main counts.
void print_comparison(std::ostream& out, const std::vector<RunStats>& runs);

}  // namespace pprsim
