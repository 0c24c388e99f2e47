// The reports of a plugin's edge coverage (sim/coverage.h, sim/plugin_edges.h): the text line,
// the JSON keys, and the merge of two JSON records (fuzz shards).
#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/coverage.h"
#include "sim/plugin_edges.h"

namespace pprsim {

namespace {

using Json = nlohmann::ordered_json;

// One function's edges as '1' (taken) and '0', in the plugin's order.
struct FunctionRow {
  std::string name;
  std::string map;
  std::size_t reached() const { return static_cast<std::size_t>(std::count(map.begin(), map.end(), '1')); }
};

std::vector<FunctionRow> rows_of(const EdgeMap& m, const Coverage& c) {
  std::vector<FunctionRow> rows;
  for (const EdgeFunction& f : m.functions) {
    FunctionRow row{f.name, std::string(f.edges.size(), '0')};
    for (std::size_t i = 0; i < f.edges.size(); ++i) {
      if (c.edge(f.edges[i])) row.map[i] = '1';
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// Never reached first, then by name: the order of the JSON, the text and the HTML table.
void sort_rows(std::vector<FunctionRow>& rows) {
  std::sort(rows.begin(), rows.end(), [](const FunctionRow& a, const FunctionRow& b) {
    const bool na = a.reached() == 0;
    const bool nb = b.reached() == 0;
    return na != nb ? na : a.name < b.name;
  });
}

void put_rows(Json& j, std::vector<FunctionRow> rows) {
  sort_rows(rows);
  std::size_t edges = 0;
  std::size_t reached = 0;
  std::size_t functions_reached = 0;
  Json list = Json::array();
  for (const FunctionRow& r : rows) {
    edges += r.map.size();
    reached += r.reached();
    functions_reached += r.reached() != 0 ? 1 : 0;
    Json f;
    f["name"] = r.name;
    f["edges"] = r.map.size();
    f["reached"] = r.reached();
    f["map"] = r.map;
    list.push_back(std::move(f));
  }
  j["edges"] = edges;
  j["edges_reached"] = reached;
  j["function_count"] = rows.size();
  j["functions_reached"] = functions_reached;
  j["functions"] = std::move(list);
}

void put_no_edges(Json& j) {
  j["edges"] = nullptr;
  j["no_edges"] = fmt::format("build the plugin with {}", kEdgeCoverageFlags);
}

// The rows of a JSON record, by name; false when it has none in the expected shape.
bool rows_of_json(const Json& j, std::map<std::string, std::string>& out) {
  const auto fns = j.find("functions");
  if (fns == j.end() || !fns->is_array()) return false;
  for (const Json& f : *fns) {
    if (!f.is_object() || !f.contains("name") || !f["name"].is_string() || !f.contains("map") || !f["map"].is_string()) {
      return false;
    }
    out[f["name"].get<std::string>()] = f["map"].get<std::string>();
  }
  return true;
}

}  // namespace

std::string edge_coverage_text(const Coverage& c, std::string_view allocator) {
  if (!allocator.starts_with("plugin:")) return "";
  const EdgeMap* m = edge_map(allocator);
  if (m == nullptr) return fmt::format("no edge coverage: build the plugin with {}\n", kEdgeCoverageFlags);
  std::vector<FunctionRow> rows = rows_of(*m, c);
  sort_rows(rows);
  std::size_t reached = 0;
  std::size_t functions_reached = 0;
  std::vector<std::string_view> never;
  for (const FunctionRow& r : rows) {
    reached += r.reached();
    functions_reached += r.reached() != 0 ? 1 : 0;
    if (r.reached() == 0) never.push_back(r.name);
  }
  std::string out = fmt::format("exercised {} of {} edges in {} of {} functions of {}", reached, m->edges,
                                functions_reached, rows.size(), allocator);
  if (m->edges > kMaxPluginEdges) out += fmt::format(" (edges past the first {} not counted)", kMaxPluginEdges);
  out += never.empty() ? "\n" : fmt::format("; never: {}\n", fmt::join(never, ", "));
  return out;
}

void add_edge_coverage_json(Json& j, const Coverage& c, std::string_view allocator) {
  if (!allocator.starts_with("plugin:")) return;
  const EdgeMap* m = edge_map(allocator);
  if (m == nullptr) {
    put_no_edges(j);
    return;
  }
  put_rows(j, rows_of(*m, c));
}

bool merge_edge_coverage_json(const Json& a, const Json& b, Json& out) {
  const bool ea = a.contains("edges");
  if (ea != b.contains("edges")) return false;
  if (!ea) return true;  // no plugin
  if (a["edges"].is_null() || b["edges"].is_null()) {
    if (!a["edges"].is_null() || !b["edges"].is_null()) return false;
    put_no_edges(out);
    return true;
  }
  std::map<std::string, std::string> ra;
  std::map<std::string, std::string> rb;
  if (!rows_of_json(a, ra) || !rows_of_json(b, rb) || ra.size() != rb.size()) return false;
  std::vector<FunctionRow> rows;
  for (const auto& [name, map] : ra) {
    const auto other = rb.find(name);
    if (other == rb.end() || other->second.size() != map.size()) return false;
    FunctionRow row{name, map};
    for (std::size_t i = 0; i < map.size(); ++i) {
      if (other->second[i] == '1') row.map[i] = '1';
    }
    rows.push_back(std::move(row));
  }
  put_rows(out, std::move(rows));
  return true;
}

}  // namespace pprsim
