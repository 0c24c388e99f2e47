#include "tools/html_coverage.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tools/html_parts.h"

namespace pprsim {

namespace {

using Json = nlohmann::ordered_json;
using html::esc;
using html::field;

// j[key] as a string ("" when it is none), and as a count (html_parts.h).
std::string str(const Json& j, const char* key) {
  const Json& v = field(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}
std::uint64_t count(const Json& j, const char* key) { return html::u64(j, key); }

// The probes of a built-in allocator; "" when the record has none.
std::string probe_table(const Json& cov) {
  const auto probes = cov.find("probes");
  if (probes == cov.end() || !probes->is_array() || probes->empty()) return "";
  std::vector<const Json*> rows;
  for (const Json& p : *probes) {
    if (p.is_object()) rows.push_back(&p);
  }
  // Never reached first (in probe order), then the rest, most hits first.
  std::stable_sort(rows.begin(), rows.end(), [](const Json* a, const Json* b) {
    const std::uint64_t ha = count(*a, "hits");
    const std::uint64_t hb = count(*b, "hits");
    if ((ha == 0) != (hb == 0)) return ha == 0;
    return ha != 0 && ha > hb;
  });
  std::string out = fmt::format(
      "<section class=\"coverage\"><h3>allocator paths: {} of {} exercised, {} pairs</h3>\n"
      "<table class=\"coverage\"><thead><tr><th>path</th><th>of</th><th>hits</th><th>what it guards</th></tr></thead><tbody>\n",
      count(cov, "exercised"), count(cov, "paths"), count(cov, "pairs"));
  for (const Json* p : rows) {
    const std::uint64_t hits = count(*p, "hits");
    out += fmt::format("<tr class=\"{}\"{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", hits == 0 ? "never" : "hit", hits == 0 ? " style=\"color:#c62828\"" : "",
                       esc(str(*p, "probe")), esc(str(*p, "family")), hits == 0 ? std::string("never") : fmt::format("{}", hits),
                       esc(str(*p, "guards")));
  }
  out += "</tbody></table></section>\n";
  return out;
}

// A plugin's edges per function (sim/coverage.h, edge_coverage_text): the functions never
// reached first, then by name, as the JSON has them; "" when the record has no `edges`.
std::string edge_table(const Json& cov) {
  const auto edges = cov.find("edges");
  if (edges == cov.end()) return "";
  if (!edges->is_number()) {
    return fmt::format("<section class=\"coverage\"><h3>plugin code: no edge coverage</h3><p>{}</p></section>\n",
                       esc(str(cov, "no_edges")));
  }
  std::vector<const Json*> rows;
  if (const auto fns = cov.find("functions"); fns != cov.end() && fns->is_array()) {
    for (const Json& f : *fns) {
      if (f.is_object()) rows.push_back(&f);
    }
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Json* a, const Json* b) {
    const bool na = count(*a, "reached") == 0;
    const bool nb = count(*b, "reached") == 0;
    return na != nb ? na : str(*a, "name") < str(*b, "name");
  });
  std::string out = fmt::format(
      "<section class=\"coverage\"><h3>plugin code: {} of {} edges in {} of {} functions</h3>\n"
      "<table class=\"coverage edges\"><thead><tr><th>function</th><th>edges reached</th><th>of</th></tr></thead><tbody>\n",
      count(cov, "edges_reached"), count(cov, "edges"), count(cov, "functions_reached"), count(cov, "function_count"));
  for (const Json* f : rows) {
    const std::uint64_t reached = count(*f, "reached");
    out += fmt::format("<tr class=\"{}\"{}><td>{}</td><td>{}</td><td>{}</td></tr>\n", reached == 0 ? "never" : "hit",
                       reached == 0 ? " style=\"color:#c62828\"" : "", esc(str(*f, "name")),
                       reached == 0 ? std::string("never") : fmt::format("{}", reached), count(*f, "edges"));
  }
  out += "</tbody></table></section>\n";
  return out;
}

}  // namespace

std::string html_coverage(const Json& r) {
  if (!r.is_object()) return "";
  const auto cov = r.find("coverage");
  if (cov == r.end() || !cov->is_object()) return "";
  return probe_table(*cov) + edge_table(*cov);
}

}  // namespace pprsim
