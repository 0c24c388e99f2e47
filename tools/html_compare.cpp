// Several runs on one page: a matrix with a row per trace and a column per allocator and group
// size, each cell the run's verdict in colour with its allocator-induced conflicts, lost blocks
// and double allocations, linked to the run's section; sortable by any column (click its head).
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "tools/html_parts.h"

namespace pprsim::html {

namespace {

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

void comparison(std::string& out, const Json& runs) {
  if (runs.size() < 2) return;
  // Columns: (allocator, group size) in the order first seen; rows: traces in the order first seen.
  std::vector<std::string> columns, rows;
  std::map<std::pair<std::string, std::string>, std::size_t> cell;  // (row, column) -> run
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const Json& r = runs[i];
    const std::string col = fmt::format("{} &#183; G={}", esc(text_of(field(r, "allocator"))), u64(r, "group_size"));
    const std::string row = esc(base_name(text_of(field(r, "trace"))));
    if (std::find(columns.begin(), columns.end(), col) == columns.end()) columns.push_back(col);
    if (std::find(rows.begin(), rows.end(), row) == rows.end()) rows.push_back(row);
    cell.emplace(std::pair{row, col}, i);  // a repeated (trace, allocator, G) keeps its first run
  }
  std::size_t failed = 0;
  for (const Json& r : runs) failed += r.value("verified", false) ? 0 : 1;
  out += fmt::format("<section id=\"compare\"><h2>Comparison: {} runs, {} failed</h2>\n<p class=\"legend\"><span><i "
                     "style=\"background:#2e7d32\"></i>verified</span><span><i style=\"background:#c62828\"></i>failed"
                     "</span> Each cell: allocator-induced conflicts &#183; lost blocks &#183; double allocations; a click "
                     "opens the run. Click a column's head to sort by it.</p>\n",
                     runs.size(), failed);
  out += "<table class=\"compare\" id=\"compare-table\"><thead><tr><th>trace</th>";
  for (const std::string& c : columns) out += "<th data-type=\"num\">" + c + "</th>";
  out += "</tr></thead><tbody>\n";
  for (const std::string& row : rows) {
    out += "<tr><td>" + row + "</td>";
    for (const std::string& col : columns) {
      const auto it = cell.find({row, col});
      if (it == cell.end()) {
        out += "<td data-v=\"-1\"></td>";
        continue;
      }
      const Json& r = runs[it->second];
      const bool ok = r.value("verified", false);
      const std::uint64_t induced = u64(field(r, "conflicts"), "allocator_induced");
      const std::uint64_t lost = u64(r, "lost_blocks"), dbl = u64(r, "double_allocations");
      // Sorted by: failed first when descending, then by the conflicts.
      out += fmt::format("<td class=\"cell {}\" data-v=\"{}\"><a href=\"#run-{}\" data-target=\"run-{}\" title=\"{}\">{} "
                         "&#183; {} &#183; {}</a></td>",
                         ok ? "verified" : "failed", ok ? induced : induced + 1000000000, it->second, it->second,
                         ok ? "VERIFIED" : "FAILED: " + esc(text_of(field(r, "failure"))), induced, lost, dbl);
    }
    out += "</tr>\n";
  }
  out += "</tbody></table></section>\n";
}

}  // namespace pprsim::html
