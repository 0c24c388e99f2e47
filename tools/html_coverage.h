// The coverage table of a run in the HTML report (tools/html_report.cpp): the run's JSON
// `coverage` (sim/coverage.h) as a table, the paths never reached first; for a plugin built with
// edge coverage, a table of its functions, those never reached first.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace pprsim {

// The sections for run `r`; "" when the run has no coverage (an allocator without probes that
// is no plugin, or JSON from before coverage was reported).
std::string html_coverage(const nlohmann::ordered_json& r);

}  // namespace pprsim
