// The HTML report of runs: one self-contained page (CSS, script and SVG inline, nothing fetched)
// drawn from the runs' JSON (sim/run_json.h), so `replay --html` and `report RUN.json -o` give
// the same page. It shows where the runs came from, a comparison matrix for several runs, each
// run's verdict and figures, its first failure and a whole-run overview, heap maps with the
// failing blocks in their own colours, a timeline per group (lanes for the tasks, their spans and
// outcomes, each conflict drawn between its two tasks), and a sortable, filterable conflict
// table. The parts are in tools/html_*.cpp (tools/html_parts.h).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace pprsim {

// `runs`: an array of run objects as run_to_json writes them (with "timeline" and "heap_maps"
// when they were recorded). Throws std::invalid_argument when an element is not a run.
std::string html_report(const nlohmann::ordered_json& runs);

// True when `j` looks like a run (or an array of runs) as replay --json writes it.
bool is_run_json(const nlohmann::ordered_json& j);

}  // namespace pprsim
