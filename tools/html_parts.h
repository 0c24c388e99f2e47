// What the parts of the HTML report (tools/html_report.h) share: escaping, reading fields of a
// run's JSON that may be missing or of the wrong type, sizes as text, the task colours, and the
// parts themselves, each drawn from one run (or all of them) into a string.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace pprsim::html {

using Json = nlohmann::ordered_json;

std::string esc(std::string_view s);
// j[key], or null when j is no object or has no such key.
const Json& field(const Json& j, const char* key);
// j[key] as a count: 0 when missing, negative or not an integer.
std::uint64_t u64(const Json& j, const char* key);
// An element of an array as a count (0 when missing or not a count).
std::uint64_t u64_at(const Json& a, std::size_t i);
std::string text_of(const Json& j);
std::string bytes_text(std::uint64_t n);

// The width of every drawing (the overview, the timeline, the heap map), in SVG units.
inline constexpr int kWidth = 960;

// Eight task colours (task k takes k mod 8), and MAIN's.
inline constexpr std::array<const char*, 8> kTaskColours{"#f28e2b", "#59a14f", "#b07aa1", "#edc948",
                                                         "#76b7b2", "#ff9da7", "#9c755f", "#bab0ac"};
inline constexpr const char* kMainColour = "#4e79a7";
inline const char* owner_colour(int task) {
  return task < 0 ? kMainColour : kTaskColours[static_cast<std::size_t>(task) % kTaskColours.size()];
}

// How much of each run a page draws: all of it for one run or a few; on a comparison of many,
// the first few groups, conflicts and the heap's failing blocks, the rest counted on fold lines
// (the run's own page, `pprsim report RUN.json -o`, draws it all).
struct Budget {
  std::size_t groups = static_cast<std::size_t>(-1);  // group drawings a run
  std::size_t rows = static_cast<std::size_t>(-1);    // conflict rows a run
  bool full_heap = true;                              // whole heap maps, or the zooms on failures only
  std::size_t bars = 1024;                            // overview bars a run (neighbouring bins merged)
};
Budget budget_for(std::size_t runs);

// The id of the element a jump to group `group` of run `run` lands on.
std::string group_id(std::size_t run, std::uint64_t group);

// tools/html_overview.cpp: the whole run as one chart, and where its first failure is.
void overview(std::string& out, const Json& run, std::size_t index, const Budget& budget);
// tools/html_heap_map.cpp: the heap maps, failing blocks in colours of their own.
void heap_maps(std::string& out, const Json& run, std::size_t index, const Budget& budget);
// tools/html_compare.cpp: several runs as a sortable matrix (nothing for one run).
void comparison(std::string& out, const Json& runs);
// tools/html_provenance.cpp: which pprsim drew the runs, how, and when.
void provenance(std::string& out, const Json& runs);

}  // namespace pprsim::html
